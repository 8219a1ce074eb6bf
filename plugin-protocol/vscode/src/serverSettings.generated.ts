// The server's settings and their defaults, generated from backend/splice/config.py.
// Do not edit: run scripts/gen-vscode-settings.

export const SERVER_SETTINGS = {
  engine: "auto",
  modelFamily: "starcoder2",
  fimMode: "psm",
  contextTokens: 2048,
  maxNewTokens: 64,
  prefixShare: 0.6,
  suffixShare: 0.12,
  numCandidates: 4,
  maxSnippets: 4,
  snippetWindowLines: 20,
  maxDocumentBytes: 2097152,
  tritonUrl: "",
  tritonModel: "splice_fim",
  deadlineMs: 400,
  minMeanLogprob: 0.0,
  tenant: "",
  tenantTaskIds: "",
  artifactsDir: "",
  tritonLoraDir: "",
  tritonRequestStyle: "inflight_batcher",
  tritonPerfMetrics: false,
  retrievalDeadlineMs: 40,
  logLevel: "info",
  telemetry: "on",
  telemetryStoreText: false,
  telemetryMaxMb: 64,
  dataDir: "",
  neuralModel: "",
  neuralAdapter: "",
  neuralThreads: 2,
} as const;

export type ServerSettingName = keyof typeof SERVER_SETTINGS;
