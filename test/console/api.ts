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

/**
 * A console session without a browser: the sign-in form posted with its CSRF token, as a browser
 * would. `headers` go with every request, e.g. X-Forwarded-For to speak for a client behind a proxy.
 */
export async function consoleSession(
  baseUrl: string,
  credential: string,
  { headers = {} }: { headers?: Record<string, string> } = {},
) {
  const cookieOf = (response: Response) =>
    response.headers
      .getSetCookie()
      .map((cookie) => cookie.split(";")[0] as string)
      .filter((cookie) => !cookie.endsWith("="));
  const csrfIn = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const signInPage = await fetch(`${baseUrl}/sign-in`, { headers: { ...headers, accept: "text/html" } });
  const visitor = cookieOf(signInPage).join("; ");
  const signedIn = await fetch(`${baseUrl}/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: { ...headers, cookie: visitor, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ credential, _csrf: csrfIn(await signInPage.text()), return_to: "/" }),
  });
  if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}`);
  const cookie = cookieOf(signedIn).find((value) => value.startsWith("seqpulse_session=")) ?? "";
  const page = (path: string) =>
    fetch(`${baseUrl}${path}`, { headers: { ...headers, cookie, accept: "text/html" } });
  return {
    /** The session cookie, `seqpulse_session=…`. */
    cookie,
    page,
    /** Posts a form of the console with the session's CSRF token, read from the page it is on. */
    async submit(formPage: string, action: string, fields: Record<string, string>) {
      const csrf = csrfIn(await (await page(formPage)).text());
      return fetch(`${baseUrl}${action}`, {
        method: "POST",
        redirect: "manual",
        headers: { ...headers, cookie, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ ...fields, _csrf: csrf }),
      });
    },
  };
}
