"""The language server: lifecycle, message dispatch and the thin handlers that call the layers below."""
