"""Fill-in-the-middle templates per model family, with their stop tokens and multi-file formats.

Each family was trained on its own sentinel spelling; a prompt in the wrong spelling quietly degrades the
model. Prompts put the most stable context first (repository name, then snippets in a stable order, then the
file path, then the prefix) so an inference server's KV cache can reuse their leading blocks across
keystrokes. Families with a native multi-file format (StarCoder2 ``<file_sep>``, Qwen2.5-Coder
``<|file_sep|>``, CodeGemma ``<|file_separator|>``) get snippets in it; the others get comment blocks headed
by the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from splice.context.prompt import Snippet
from splice.languages import line_comment


@dataclass(frozen=True, kw_only=True)
class FimTemplate:
    """One family's FIM spelling."""

    family: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...]
    supports_spm: bool
    repo_name: str | None = None  # token opening a repository-level prompt
    file_sep: str | None = None  # token opening each file in a multi-file prompt
    codellama_spacing: bool = False

    def render(
        self,
        *,
        path: str,
        language: str,
        prefix: str,
        suffix: str,
        snippets: Sequence[Snippet] = (),
        mode: str = "psm",
        repo: str = "",
    ) -> str:
        """The prompt text: context first, then the FIM body in ``mode`` (``psm`` or ``spm``)."""
        head = self._context(path=path, language=language, snippets=snippets, repo=repo)
        if mode == "spm" and self.supports_spm:
            if self.codellama_spacing:
                body = f"{self.prefix} {self.suffix}{suffix} {self.middle} {prefix}"
            else:
                body = f"{self.prefix}{self.suffix}{suffix}{self.middle}{prefix}"
        elif self.codellama_spacing:
            body = f"{self.prefix} {prefix} {self.suffix}{suffix} {self.middle}"
        else:
            body = f"{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"
        if self.codellama_spacing:
            # CodeLlama's sentinels open the sequence; context goes inside the prefix as comments.
            return body.replace(f"{self.prefix} ", f"{self.prefix} {head}", 1)
        return head + body

    def _context(self, *, path: str, language: str, snippets: Sequence[Snippet], repo: str) -> str:
        if self.file_sep is not None:
            parts: list[str] = []
            if self.repo_name is not None and repo:
                parts.append(f"{self.repo_name}{repo}\n")
            if self.family == "codegemma":
                for snippet in snippets:
                    parts.append(f"{_commented(language, snippet.path)}\n{snippet.text}{self.file_sep}")
                parts.append(f"{_commented(language, path)}\n")
                return "".join(parts)
            for snippet in snippets:
                parts.append(f"{self.file_sep}{snippet.path}\n{_ensure_newline(snippet.text)}")
            parts.append(f"{self.file_sep}{path}\n")
            return "".join(parts)
        leader = line_comment(language)
        parts = []
        for snippet in snippets:
            body = "".join(f"{leader} {line}\n" for line in snippet.text.rstrip("\n").split("\n"))
            parts.append(f"{leader} Compare this snippet from {snippet.path}:\n{body}")
        parts.append(f"{leader} Path: {path}\n{leader} Language: {language}\n")
        return "".join(parts)


def _ensure_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _commented(language: str, path: str) -> str:
    return f"{line_comment(language)} {path}"


TEMPLATES: dict[str, FimTemplate] = {
    "starcoder2": FimTemplate(
        family="starcoder2", prefix="<fim_prefix>", suffix="<fim_suffix>", middle="<fim_middle>",
        stop=("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<repo_name>"),
        supports_spm=True, repo_name="<repo_name>", file_sep="<file_sep>",
    ),
    "qwen2.5-coder": FimTemplate(
        family="qwen2.5-coder", prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>",
        stop=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|fim_prefix|>",
              "<|fim_suffix|>", "<|fim_middle|>", "<|im_end|>"),
        supports_spm=False, repo_name="<|repo_name|>", file_sep="<|file_sep|>",
    ),
    "deepseek-coder": FimTemplate(
        family="deepseek-coder", prefix="<｜fim▁begin｜>", suffix="<｜fim▁hole｜>", middle="<｜fim▁end｜>",
        stop=("<｜end▁of▁sentence｜>", "<|EOT|>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
        supports_spm=False,
    ),
    "codellama": FimTemplate(
        family="codellama", prefix="<PRE>", suffix="<SUF>", middle="<MID>",
        stop=("<EOT>", "</s>", "<PRE>", "<SUF>", "<MID>"),
        supports_spm=True, codellama_spacing=True,
    ),
    "codegemma": FimTemplate(
        family="codegemma", prefix="<|fim_prefix|>", suffix="<|fim_suffix|>", middle="<|fim_middle|>",
        stop=("<|file_separator|>", "<eos>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
        supports_spm=False, file_sep="<|file_separator|>",
    ),
}


def template_for(family: str) -> FimTemplate:
    """The template of ``family`` (a :data:`splice.config.FAMILIES` name)."""
    return TEMPLATES[family]


def all_special_tokens() -> frozenset[str]:
    """Every sentinel and stop token of every family, for scrubbing leaks out of suggestions."""
    tokens: set[str] = set()
    for t in TEMPLATES.values():
        tokens.update((t.prefix, t.suffix, t.middle, *t.stop))
        tokens.update(x for x in (t.repo_name, t.file_sep) if x)
    return frozenset(tokens)
