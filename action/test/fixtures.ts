import type {
  SeqPulseClient,
  SeqPulseClientOptions,
  SeqPulseResponse,
  WaitForVerdictResult,
} from "@seqpulse/client";
import type {
  DeploymentDetail,
  FinishRequest,
  FinishResponse,
  TriggerRequest,
  TriggerResponse,
} from "@seqpulse/types";
import type { Dependencies } from "../src/client-factory.js";
import type { InputName, OutputName, StateName } from "../src/constants.js";
import type { Toolkit } from "../src/toolkit.js";

export const DEPLOYMENT_ID = "7f8a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b";
export const API_KEY = "sp_live_secret_key_123";

export const GITHUB_ENV = {
  GITHUB_REPOSITORY: "acme/shop",
  GITHUB_RUN_ID: "9876543210",
  GITHUB_RUN_ATTEMPT: "2",
  GITHUB_SERVER_URL: "https://github.com",
  GITHUB_WORKFLOW: "Deploy",
  GITHUB_JOB: "deploy",
  GITHUB_ACTOR: "octocat",
  GITHUB_EVENT_NAME: "push",
  GITHUB_REF: "refs/heads/main",
  GITHUB_REF_NAME: "main",
  GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
};

/** A toolkit that records everything the action does with it. */
export function toolkitFixture(
  inputs: Partial<Record<InputName, string>> = {},
  state: Partial<Record<StateName, string>> = {},
) {
  const record = {
    outputs: {} as Partial<Record<OutputName, string>>,
    state: { ...state } as Partial<Record<StateName, string>>,
    log: [] as string[],
    warnings: [] as string[],
    groups: [] as string[],
    secrets: [] as string[],
    summaries: [] as string[],
    summaryFails: false,
  };
  const toolkit: Toolkit = {
    getInput: (name) => inputs[name] ?? "",
    setOutput: (name, value) => {
      record.outputs[name] = value;
    },
    saveState: (name, value) => {
      record.state[name] = value;
    },
    getState: (name) => record.state[name] ?? "",
    info: (message) => record.log.push(message),
    warning: (message) => record.warnings.push(message),
    group: async (name, run) => {
      record.groups.push(name);
      return run();
    },
    setSecret: (secret) => record.secrets.push(secret),
    writeSummary: async (markdown) => {
      if (record.summaryFails)
        throw new Error("Unable to find environment variable for $GITHUB_STEP_SUMMARY.");
      record.summaries.push(markdown);
    },
  };
  return { toolkit, record };
}

type Handler<Args extends unknown[], Result> = (...args: Args) => Promise<Result>;

export interface FakeClientHandlers {
  trigger?: Handler<
    [TriggerRequest, { idempotencyKey?: string } | undefined],
    SeqPulseResponse<TriggerResponse>
  >;
  finish?: Handler<[FinishRequest], SeqPulseResponse<FinishResponse>>;
  getDeployment?: Handler<[string], SeqPulseResponse<DeploymentDetail>>;
  waitForVerdict?: Handler<[string], WaitForVerdictResult>;
}

/** Dependencies whose client answers from the given handlers and records each call. */
export function fakeDependencies(handlers: FakeClientHandlers, env: Record<string, string> = GITHUB_ENV) {
  const calls: Array<{ method: string; args: unknown[] }> = [];
  const options: SeqPulseClientOptions[] = [];
  const missing = (method: string) => async () => {
    throw new Error(`unexpected call to ${method}`);
  };
  const deps: Dependencies = {
    env,
    createClient: (clientOptions) => {
      options.push(clientOptions);
      const client: SeqPulseClient = {
        apiUrl: clientOptions.apiUrl.replace(/\/+$/, ""),
        trigger: async (body, triggerOptions) => {
          calls.push({ method: "trigger", args: [body, triggerOptions] });
          return (handlers.trigger ?? missing("trigger"))(body, triggerOptions);
        },
        finish: async (body) => {
          calls.push({ method: "finish", args: [body] });
          return (handlers.finish ?? missing("finish"))(body);
        },
        getDeployment: async (id) => {
          calls.push({ method: "getDeployment", args: [id] });
          return (handlers.getDeployment ?? missing("getDeployment"))(id);
        },
        // The action never lists deployments.
        listDeployments: missing("listDeployments"),
        waitForVerdict: async (id, waitOptions) => {
          calls.push({ method: "waitForVerdict", args: [id, waitOptions] });
          return (handlers.waitForVerdict ?? missing("waitForVerdict"))(id);
        },
      };
      return client;
    },
  };
  return { deps, calls, options };
}

export function ok<T>(data: T, status = 200): SeqPulseResponse<T> {
  return { data, status, attempts: 1, replayed: false, requestId: "req-1" };
}
