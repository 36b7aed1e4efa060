import type { DeploymentDetail, TriggerResponse } from "@seqpulse/types";

/** The CI calls a pipeline makes, for seeding deployments the console then shows. */
export function ciClient(baseUrl: string, apiKey: string) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { "x-api-key": apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    trigger: (body: Record<string, unknown>) => call<TriggerResponse>("POST", "/deployments/trigger", body),
    finish: (deploymentId: string, result = "success") =>
      call("POST", "/deployments/finish", { deployment_id: deploymentId, result }),
    get: (deploymentId: string) => call<DeploymentDetail>("GET", `/deployments/${deploymentId}`),
  };
}
