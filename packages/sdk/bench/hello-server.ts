// A hello-world node:http server for the throughput benchmark: `plain` or `seqpulse` (wrapped).
// Asked "usage" over IPC, it answers its CPU time so far and the requests it has served.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { withSeqPulse } from "../src/index.js";

let served = 0;
const hello: http.RequestListener = (_request, response) => {
  served++;
  response.writeHead(200, { "content-type": "text/plain" });
  response.end("hello world");
};
const listener = process.argv[2] === "seqpulse" ? withSeqPulse(hello) : hello;
const server = http.createServer(listener);
server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("message", (message) => {
  if (message !== "usage") return;
  const usage = process.cpuUsage();
  process.send?.({ cpuMicros: usage.user + usage.system, served });
});
process.on("disconnect", () => process.exit(0));
