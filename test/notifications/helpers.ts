import type {
  CreateDestinationRequest,
  CreateDestinationResponse,
  Delivery,
  DeliveryList,
  Destination,
  TestDeliveryResponse,
  UpdateDestinationRequest,
} from "@seqpulse/types";
import { ADMIN_TOKEN, waitUntil } from "../worker/helpers.js";

/** Links in messages point here; never requested by the tests. */
export const PUBLIC_URL = "https://seqpulse.example.test";

async function admin<T>(baseUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

export function createDestination(
  baseUrl: string,
  projectId: string,
  input: Partial<CreateDestinationRequest> & Pick<CreateDestinationRequest, "kind" | "url">,
): Promise<CreateDestinationResponse> {
  return admin(baseUrl, "POST", `/admin/projects/${projectId}/destinations`, {
    name: `${input.kind} destination`,
    events: ["verdict", "deployment.abandoned", "verdict.decided"],
    ...input,
  });
}

export function updateDestination(
  baseUrl: string,
  destinationId: string,
  input: UpdateDestinationRequest,
): Promise<Destination> {
  return admin(baseUrl, "PATCH", `/admin/destinations/${destinationId}`, input);
}

export async function deliveries(baseUrl: string, destinationId: string): Promise<Delivery[]> {
  return (await admin<DeliveryList>(baseUrl, "GET", `/admin/destinations/${destinationId}/deliveries`)).items;
}

export function sendTest(baseUrl: string, destinationId: string): Promise<TestDeliveryResponse> {
  return admin(baseUrl, "POST", `/admin/destinations/${destinationId}/test`);
}

/** Waits until every delivery of the destination has left `pending`; returns them. */
export function waitForSettledDeliveries(
  baseUrl: string,
  destinationId: string,
  count: number,
  timeoutMs = 30_000,
): Promise<Delivery[]> {
  return waitUntil(
    `${count} settled deliveries of ${destinationId}`,
    async () => {
      const items = await deliveries(baseUrl, destinationId);
      return items.length >= count && items.every((item) => item.state !== "pending") && items;
    },
    { timeoutMs, intervalMs: 200 },
  );
}
