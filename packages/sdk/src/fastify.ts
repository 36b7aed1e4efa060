import type { FastifyPluginCallback } from "fastify";
import { collectorFrom, type SeqPulseMiddlewareOptions } from "./adapter.js";

export type { SeqPulseMiddlewareOptions } from "./adapter.js";

interface MetricsRouteConfig {
  seqpulseMetrics?: boolean;
}

/**
 * Fastify (4 and 5) plugin: `await app.register(seqpulseFastify, options)`. It serves the metrics
 * route and times every other request with Fastify's own `reply.elapsedTime`; it is not
 * encapsulated, so it sees the routes of every context.
 */
const plugin: FastifyPluginCallback<SeqPulseMiddlewareOptions> = (fastify, options, done) => {
  const { collector, owned } = collectorFrom(options);
  fastify.route({
    method: "GET",
    url: collector.path,
    config: { seqpulseMetrics: true } satisfies MetricsRouteConfig,
    handler: (request, reply) => {
      const answer = collector.handle({
        method: request.method,
        url: request.url,
        header: (name) => {
          const value = request.headers[name];
          return Array.isArray(value) ? value[0] : value;
        },
      });
      reply.code(answer.status).headers(answer.headers).send(answer.body);
    },
  });
  fastify.addHook("onResponse", (request, reply, hookDone) => {
    if (!(request.routeOptions.config as MetricsRouteConfig).seqpulseMetrics) {
      collector.record(reply.statusCode, reply.elapsedTime);
    }
    hookDone();
  });
  fastify.addHook("onClose", (_instance, hookDone) => {
    if (owned) collector.close();
    hookDone();
  });
  done();
};

// What fastify-plugin sets: the hooks then apply to the whole application, not only this plugin.
Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "@seqpulse/sdk",
  [Symbol.for("plugin-meta")]: { name: "@seqpulse/sdk", fastify: ">=4.26.0" },
});

export const seqpulseFastify = plugin;
export default plugin;
