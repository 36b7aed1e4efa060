import {
  type Delivery,
  type DeploymentDetail,
  type DeploymentState,
  type Destination,
  decisionValues,
  deploymentStates,
  formatMetricValue,
  MAX_DECISION_NOTE_LENGTH,
  notificationEvents,
  type VerdictValue,
  verdictValues,
} from "@seqpulse/types";
import { html, raw } from "hono/html";
import type { Project } from "../db/schema/index.js";
import { decisionTitle, verdictTitle } from "../notifications/payload.js";
import { MAX_CUSTOM_CHARTS, type MetricChart, metricCharts } from "./charts.js";
import { badge, formatDuration, type Html, link, safeHttpUrl, time } from "./layout.js";
import type { DeploymentFilters, listFilteredDeployments, projectOverview } from "./queries.js";
import type { Viewer } from "./session.js";

const stateTitles: Partial<Record<DeploymentState, string>> = {
  running: "Running",
  finished: "Observing",
  analyzed: "Analyzed",
  abandoned: "Abandoned",
};
const stateTitle = (state: DeploymentState) => stateTitles[state] ?? state[0]?.toUpperCase() + state.slice(1);

export const isLive = (state: DeploymentState) => state === "running" || state === "finished";

export function stateBadge(state: DeploymentState): Html {
  return badge(`state-${state}`, stateTitle(state));
}

export function verdictBadge(verdict: VerdictValue | null | undefined): Html | string {
  return verdict ? badge(`verdict-${verdict}`, verdictTitle[verdict]) : "—";
}

const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}" />`;

export function signInPage({
  csrf,
  returnTo,
  error,
}: {
  csrf: string;
  returnTo: string;
  error?: string;
}): Html {
  return html`<section class="narrow">
    <h1>Sign in</h1>
    <p>Use a project's API key to see its deployments, or the admin token (<code>SEQPULSE_ADMIN_TOKEN</code>) to see every project.</p>
    ${error ? html`<p class="alert alert-error" role="alert" id="sign-in-error">${error}</p>` : ""}
    <form method="post" action="/sign-in" class="stack">
      ${csrfField(csrf)}
      <input type="hidden" name="return_to" value="${returnTo}" />
      <label for="credential">API key or admin token</label>
      <input id="credential" name="credential" type="password" autocomplete="current-password" required
        spellcheck="false" ${error ? raw('aria-invalid="true" aria-describedby="sign-in-error"') : ""} autofocus />
      <button type="submit" class="button">Sign in</button>
    </form>
  </section>`;
}

export function errorPage(title: string, detail: string): Html {
  return html`<section class="narrow">
    <h1>${title}</h1>
    <p>${detail}</p>
    <p><a href="/">Back to the start page</a></p>
  </section>`;
}

export function projectsPage(rows: Awaited<ReturnType<typeof projectOverview>>): Html {
  return html`<h1>Projects</h1>
    <div id="projects-region" data-live-region>${
      rows.length === 0
        ? html`<p>No projects yet. Create one with <code>POST /admin/projects</code> or <code>pnpm seqpulse projects create</code>.</p>`
        : html`<div class="table-wrap"><table>
          <caption class="visually-hidden">Projects and their latest deployment</caption>
          <thead><tr><th scope="col">Project</th><th scope="col">Environments</th><th scope="col">Deployments</th>
            <th scope="col">Running</th><th scope="col">Latest</th><th scope="col">State</th><th scope="col">Verdict</th><th scope="col">Started</th></tr></thead>
          <tbody>
            ${rows.map(
              (row) => html`<tr>
                <th scope="row"><a href="/projects/${row.id}">${row.name}</a></th>
                <td>${row.envs.length > 0 ? row.envs.join(", ") : "any"}</td>
                <td>${row.total ?? 0}</td>
                <td>${row.running ?? 0}</td>
                <td>${row.latestId ? html`<a href="/deployments/${row.latestId}">${row.latestEnv} #${row.latestNumber}</a>` : "—"}</td>
                <td>${row.latestState ? stateBadge(row.latestState) : "—"}</td>
                <td>${verdictBadge(row.latestVerdict)}</td>
                <td>${time(row.latestStartedAt)}</td>
              </tr>`,
            )}
          </tbody></table></div>`
    }</div>`;
}

function option(value: string, selected: string | undefined, text = value): Html {
  return html`<option value="${value}" ${value === (selected ?? "") ? raw("selected") : ""}>${text}</option>`;
}

function filterQuery(filters: DeploymentFilters, before: number): string {
  const query = new URLSearchParams();
  for (const name of ["env", "state", "verdict", "branch"] as const) {
    const value = filters[name];
    if (value !== undefined) query.set(name, value);
  }
  query.set("before", String(before));
  return query.toString();
}

export function deploymentsPage({
  project,
  viewer,
  filters,
  choices,
  list,
}: {
  project: Project;
  viewer: Viewer;
  filters: DeploymentFilters;
  choices: { envs: string[]; branches: string[] };
  list: Awaited<ReturnType<typeof listFilteredDeployments>>;
}): Html {
  const filtered = ["env", "state", "verdict", "branch"].some(
    (name) => filters[name as keyof DeploymentFilters] !== undefined,
  );
  return html`<nav class="breadcrumbs" aria-label="Breadcrumbs">
      ${viewer.kind === "admin" ? html`<a href="/">Projects</a> / ` : ""}<span>${project.name}</span>
    </nav>
    <div class="title-row">
      <h1>${project.name}: deployments</h1>
      <a class="button secondary" href="/projects/${project.id}/notifications">Notifications</a>
    </div>
    <form class="filters" method="get" action="/projects/${project.id}" role="search" aria-label="Filter deployments">
      <div><label for="f-env">Environment</label>
        <select id="f-env" name="env">${option("", filters.env, "any")}${choices.envs.map((env) => option(env, filters.env))}</select></div>
      <div><label for="f-state">State</label>
        <select id="f-state" name="state">${option("", filters.state, "any")}${deploymentStates.map((state) => option(state, filters.state, stateTitle(state)))}</select></div>
      <div><label for="f-verdict">Verdict</label>
        <select id="f-verdict" name="verdict">${option("", filters.verdict, "any")}${verdictValues.map((verdict) => option(verdict, filters.verdict, verdictTitle[verdict]))}</select></div>
      <div><label for="f-branch">Branch</label>
        <input id="f-branch" name="branch" list="branches" value="${filters.branch ?? ""}" autocomplete="off" />
        <datalist id="branches">${choices.branches.map((branch) => html`<option value="${branch}"></option>`)}</datalist></div>
      <div class="filter-actions"><button type="submit" class="button">Filter</button>
        ${filtered ? html`<a href="/projects/${project.id}">Clear</a>` : ""}</div>
    </form>
    <div id="deployments-region" data-live-region>${
      list.rows.length === 0
        ? html`<p class="empty">${filtered ? "No deployment matches these filters." : "No deployments yet."}</p>`
        : html`<div class="table-wrap"><table class="deployments">
        <caption class="visually-hidden">Deployments of ${project.name}, newest first</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Environment</th><th scope="col">Branch</th><th scope="col">Commit</th>
          <th scope="col">State</th><th scope="col">Verdict</th><th scope="col">Started</th><th scope="col">Duration</th></tr></thead>
        <tbody>
          ${list.rows.map(
            ({
              deployment,
              verdict,
              confidence,
              decision,
            }) => html`<tr data-deployment-id="${deployment.id}" data-state="${deployment.state}">
              <th scope="row"><a href="/deployments/${deployment.id}">#${deployment.deploymentNumber}</a></th>
              <td>${deployment.env}</td>
              <td>${deployment.branch ?? "—"}</td>
              <td><code>${deployment.commitSha?.slice(0, 7) ?? "—"}</code></td>
              <td>${stateBadge(deployment.state)}</td>
              <td>${verdictBadge(verdict)}${confidence === null ? "" : html` <span class="muted">${Math.round(confidence * 100)} %</span>`}
                ${decision ? html`<span class="decision-tag">${decisionTitle[decision]}</span>` : ""}</td>
              <td>${time(deployment.startedAt)}</td>
              <td>${formatDuration(deployment.durationMs)}</td>
            </tr>`,
          )}
        </tbody></table></div>
        ${list.nextBefore ? html`<p><a href="/projects/${project.id}?${filterQuery(filters, list.nextBefore)}">Older deployments</a></p>` : ""}`
    }</div>`;
}

/** What changes while a deployment runs: the page script reloads the page when this does. */
export function deploymentVersion(detail: DeploymentDetail): string {
  return [
    detail.state,
    detail.samples.length,
    detail.collection_failures.length,
    detail.verdict?.created_at ?? "",
    detail.decision?.decided_at ?? "",
  ].join(":");
}

interface TimelineEntry {
  at: string;
  kind: "event" | "sample" | "failure" | "verdict";
  text: Html | string;
}

function timeline(detail: DeploymentDetail): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    {
      at: detail.started_at,
      kind: "event",
      text: `Triggered${detail.branch ? ` on ${detail.branch}` : ""}${detail.commit_sha ? ` at ${detail.commit_sha.slice(0, 7)}` : ""}`,
    },
  ];
  for (const sample of detail.samples) {
    const values = `p95 ${formatMetricValue("latency_p95", sample.metrics.latency_p95)}, errors ${formatMetricValue("error_rate", sample.metrics.error_rate)}, ${formatMetricValue("requests_per_sec", sample.metrics.requests_per_sec)}`;
    entries.push({
      at: sample.collected_at,
      kind: "sample",
      text:
        sample.phase === "baseline"
          ? `Baseline observation: ${values}`
          : `Post sample ${sample.sequence}: ${values}`,
    });
  }
  for (const failure of detail.collection_failures) {
    entries.push({
      at: failure.attempted_at,
      kind: "failure",
      text: `${failure.phase === "baseline" ? "Baseline" : `Post sample ${failure.sequence}`} failed (${failure.kind}${failure.http_status ? `, HTTP ${failure.http_status}` : ""}): ${failure.reason}`,
    });
  }
  if (detail.finished_at) {
    entries.push({
      at: detail.finished_at,
      kind: "event",
      text: `Pipeline finished: ${detail.pipeline_result ?? "?"}`,
    });
  }
  if (detail.abandoned_at) {
    entries.push({
      at: detail.abandoned_at,
      kind: "failure",
      text: `Abandoned${detail.state_reason ? `: ${detail.state_reason.replaceAll("_", " ")}` : ""}`,
    });
  }
  if (detail.verdict) {
    entries.push({
      at: detail.verdict.created_at,
      kind: "verdict",
      text: `Verdict: ${verdictTitle[detail.verdict.verdict]} (${Math.round(detail.verdict.confidence * 100)} % confidence)`,
    });
  }
  if (detail.decision) {
    entries.push({
      at: detail.decision.decided_at,
      kind: "event",
      text: `${decisionTitle[detail.decision.decision]} by ${detail.decision.decided_by}`,
    });
  }
  return entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function ciLinks(detail: DeploymentDetail): Html {
  const ci = detail.ci ?? {};
  const runUrl = safeHttpUrl(ci.run_url);
  const repository = typeof ci.repository === "string" ? ci.repository : null;
  const serverUrl = safeHttpUrl(ci.server_url) ?? (runUrl ? new URL(runUrl).origin : null);
  const forge =
    ci.provider === "github" && serverUrl && repository
      ? `${serverUrl.replace(/\/$/, "")}/${repository}`
      : null;
  const commit = detail.commit_sha;
  return html`<dl class="facts">
    <div><dt>Commit</dt><dd>${commit ? link(forge ? `${forge}/commit/${encodeURIComponent(commit)}` : null, commit.slice(0, 12)) : "—"}</dd></div>
    <div><dt>Branch</dt><dd>${detail.branch ?? "—"}</dd></div>
    <div><dt>Repository</dt><dd>${repository ? link(forge, repository) : "—"}</dd></div>
    <div><dt>CI run</dt><dd>${runUrl ? link(runUrl, typeof ci.workflow === "string" ? ci.workflow : "Open the run") : "—"}</dd></div>
    ${typeof ci.actor === "string" ? html`<div><dt>Actor</dt><dd>${ci.actor}</dd></div>` : ""}
  </dl>`;
}

function chartFigure(chart: MetricChart): Html {
  const format = (value: number | null) => (value === null ? "—" : formatMetricValue(chart.metric, value));
  const rows = chart.x.map((x, index) => ({
    at: new Date(x * 1000).toISOString(),
    baseline: chart.baseline[index] ?? null,
    post: chart.post[index] ?? null,
  }));
  const judged = chart.custom
    ? chart.direction === null
      ? html`<span class="muted">custom, not judged: no rule in the project's settings</span>`
      : html`<span class="muted">custom, ${chart.direction === "higher_is_worse" ? "higher is worse" : "lower is worse"}</span>`
    : "";
  return html`<figure class="chart" id="chart-${chart.id}">
    <figcaption><strong>${chart.title}</strong>
      ${judged}
      ${chart.limit === null ? "" : html`<span class="legend legend-limit">limit ${format(chart.limit)}</span>`}
      ${chart.regression === null ? "" : html`<span class="legend legend-regression">${chart.regressionLabel.toLowerCase()} ${format(chart.regression)}</span>`}
    </figcaption>
    <div class="chart-canvas" data-chart="${chart.id}" role="img"
      aria-label="${chart.title}: baseline and post samples${chart.limit === null ? "" : `, limit ${format(chart.limit)}`}${chart.regression === null ? "" : `, ${chart.regressionLabel.toLowerCase()} ${format(chart.regression)}`}"></div>
    <details><summary>${chart.title} as a table</summary>
      <table><thead><tr><th scope="col">Time</th><th scope="col">Baseline</th><th scope="col">Post</th></tr></thead>
      <tbody>${rows.map((row) => html`<tr><td>${time(row.at)}</td><td>${format(row.baseline)}</td><td>${format(row.post)}</td></tr>`)}</tbody></table>
    </details>
  </figure>`;
}

/** JSON for a <script type="application/json">: `<` is escaped so no `</script>` can end it early. */
function jsonScript(id: string, value: unknown): Html {
  return html`<script type="application/json" id="${id}">${raw(JSON.stringify(value).replaceAll("<", "\\u003c"))}</script>`;
}

function verdictSection(detail: DeploymentDetail, csrf: string): Html {
  const verdict = detail.verdict;
  if (!verdict) {
    return html`<section aria-labelledby="verdict-heading" class="card">
      <h2 id="verdict-heading">Verdict</h2>
      <p id="verdict-pending">${
        detail.state === "abandoned"
          ? "No verdict: the deployment was abandoned before it finished."
          : detail.state === "running"
            ? "Waiting for the pipeline to finish; the observation window starts then."
            : "Observing the deployment; the verdict appears here when the window ends."
      }</p>
    </section>`;
  }
  const hints = verdict.hints ?? [];
  return html`<section aria-labelledby="verdict-heading" class="card verdict verdict-${verdict.verdict}">
    <h2 id="verdict-heading">Verdict</h2>
    <p class="verdict-line" id="verdict-value">${verdictBadge(verdict.verdict)}
      <span>confidence <strong>${Math.round(verdict.confidence * 100)} %</strong></span>
      ${verdict.dry_run ? badge("dry-run", "dry run") : ""}</p>
    <p class="summary">${verdict.summary}</p>
    ${
      verdict.reasons.length > 0
        ? html`<h3>Reasons</h3><div class="table-wrap"><table>
          <thead><tr><th scope="col">Severity</th><th scope="col">Metric</th><th scope="col">Rule</th><th scope="col">Baseline</th>
            <th scope="col">Observed</th><th scope="col">Threshold</th><th scope="col">Detail</th></tr></thead>
          <tbody>${verdict.reasons.map(
            (reason) => html`<tr>
              <td>${badge(`severity-${reason.severity}`, reason.severity)}</td>
              <td>${reason.metric ?? "—"}</td><td>${reason.rule.replaceAll("_", " ")}</td>
              <td>${reason.metric ? formatMetricValue(reason.metric, reason.baseline) : "—"}</td>
              <td>${reason.metric ? formatMetricValue(reason.metric, reason.observed) : "—"}</td>
              <td>${reason.metric ? formatMetricValue(reason.metric, reason.threshold) : "—"}</td>
              <td>${reason.message}</td></tr>`,
          )}</tbody></table></div>`
        : ""
    }
    ${
      hints.length > 0
        ? html`<h3>Diagnosis hints</h3><ul class="hints">${hints.map(
            (
              hint,
            ) => html`<li><strong>${hint.title}</strong>${hint.metrics.length > 0 ? html` <span class="muted">(${hint.metrics.join(", ")})</span>` : ""}
              <ul>${hint.actions.map((action) => html`<li>${action}</li>`)}</ul></li>`,
          )}</ul>`
        : ""
    }
    <h3>Data quality</h3>
    <p>Score <strong>${Math.round(verdict.data_quality.score * 100)} %</strong>${verdict.data_quality.issues.length === 0 ? ": no issues." : ""}</p>
    ${verdict.data_quality.issues.length > 0 ? html`<ul>${verdict.data_quality.issues.map((issue) => html`<li>${issue}</li>`)}</ul>` : ""}
    ${decisionBlock(detail, csrf)}
  </section>`;
}

function decisionBlock(detail: DeploymentDetail, csrf: string): Html {
  const decision = detail.decision;
  return html`<div class="decision" id="decision">
    <h3>Decision</h3>
    ${
      decision
        ? html`<p id="decision-value">${badge(`decision-${decision.decision}`, decisionTitle[decision.decision])} by ${decision.decided_by}, ${time(decision.decided_at)}</p>
          ${decision.note ? html`<blockquote>${decision.note}</blockquote>` : ""}`
        : html`<p>Nobody has decided on this verdict yet.</p>`
    }
    <form method="post" action="/deployments/${detail.id}/decision" class="stack">
      ${csrfField(csrf)}
      <fieldset><legend>${decision ? "Change the decision" : "Decide"}</legend>
        ${decisionValues.map(
          (value) => html`<label class="choice"><input type="radio" name="decision" value="${value}" required
            ${decision?.decision === value ? raw("checked") : ""} /> ${decisionTitle[value]}${value === "accepted" ? " (false alarm or known risk)" : ""}</label>`,
        )}
      </fieldset>
      <label for="decision-note">Note</label>
      <textarea id="decision-note" name="note" rows="3" maxlength="${MAX_DECISION_NOTE_LENGTH}"></textarea>
      <button type="submit" class="button">Save decision</button>
    </form>
  </div>`;
}

export function deploymentPage({
  detail,
  project,
  viewer,
  csrf,
}: {
  detail: DeploymentDetail;
  project: Project;
  viewer: Viewer;
  csrf: string;
}): Html {
  const { charts, unchartedCustom } = metricCharts(detail, project.analysis);
  const failures = detail.collection_failures;
  return html`<nav class="breadcrumbs" aria-label="Breadcrumbs">
      ${viewer.kind === "admin" ? html`<a href="/">Projects</a> / ` : ""}<a href="/projects/${project.id}">${project.name}</a> / <span>#${detail.deployment_number}</span>
    </nav>
    <div class="title-row">
      <h1>${project.name} · ${detail.env} #${detail.deployment_number}</h1>
      <p id="deployment-state">${stateBadge(detail.state)}${isLive(detail.state) ? html` <span class="muted">updates live</span>` : ""}</p>
    </div>
    <dl class="facts">
      <div><dt>Started</dt><dd>${time(detail.started_at)}</dd></div>
      <div><dt>Finished</dt><dd>${time(detail.finished_at)}</dd></div>
      <div><dt>Pipeline</dt><dd>${detail.pipeline_result ?? "—"}</dd></div>
      <div><dt>Duration</dt><dd>${formatDuration(detail.duration_ms)}</dd></div>
    </dl>
    ${ciLinks(detail)}
    ${verdictSection(detail, csrf)}
    <section aria-labelledby="charts-heading">
      <h2 id="charts-heading">Metrics: baseline and after the deploy</h2>
      ${detail.samples.length === 0 ? html`<p>No samples yet.</p>` : ""}
      <div class="charts">${charts.map(chartFigure)}</div>
      ${
        unchartedCustom.length === 0
          ? ""
          : html`<p class="muted" id="uncharted-custom">${MAX_CUSTOM_CHARTS + unchartedCustom.length} custom metrics were measured; the page charts ${MAX_CUSTOM_CHARTS} (those with a rule first, then by name). Not charted: ${unchartedCustom.join(", ")}. Every value is in <code>GET /deployments/${detail.id}</code>.</p>`
      }
      ${jsonScript("chart-data", charts)}
    </section>
    <section aria-labelledby="failures-heading">
      <h2 id="failures-heading">Collection failures</h2>
      ${
        failures.length === 0
          ? html`<p>None: every sample taken so far was valid.</p>`
          : html`<div class="table-wrap"><table><thead><tr><th scope="col">Slot</th><th scope="col">Kind</th><th scope="col">HTTP</th>
            <th scope="col">Reason</th><th scope="col">When</th></tr></thead>
            <tbody>${failures.map(
              (
                failure,
              ) => html`<tr><td>${failure.phase === "baseline" ? "baseline" : `post ${failure.sequence}`}</td><td>${failure.kind}</td>
                <td>${failure.http_status ?? "—"}</td><td>${failure.reason}</td><td>${time(failure.attempted_at)}</td></tr>`,
            )}</tbody></table></div>`
      }
    </section>
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Timeline</h2>
      <ol class="timeline">${timeline(detail).map(
        (entry) => html`<li class="timeline-${entry.kind}">${time(entry.at)} <span>${entry.text}</span></li>`,
      )}</ol>
    </section>`;
}

export function notificationsPage({
  project,
  viewer,
  csrf,
  destinations,
  deliveries,
  created,
  rotated,
  error,
}: {
  project: Project;
  viewer: Viewer;
  csrf: string;
  destinations: Destination[];
  deliveries: Map<string, Delivery[]>;
  created?: { name: string; secret: string | null };
  rotated?: { name: string; secret: string };
  error?: string;
}): Html {
  const canManage = viewer.kind === "admin";
  return html`<nav class="breadcrumbs" aria-label="Breadcrumbs">
      ${viewer.kind === "admin" ? html`<a href="/">Projects</a> / ` : ""}<a href="/projects/${project.id}">${project.name}</a> / <span>Notifications</span>
    </nav>
    <h1>${project.name}: notifications</h1>
    ${error ? html`<p class="alert alert-error" role="alert">${error}</p>` : ""}
    ${
      created
        ? html`<div class="alert alert-ok" role="status"><p>Destination “${created.name}” added.</p>
          ${created.secret ? html`<p>Its signing secret, shown only now: <code id="new-secret">${created.secret}</code></p>` : ""}</div>`
        : ""
    }
    ${
      rotated
        ? html`<div class="alert alert-ok" role="status"><p>New signing secret of “${rotated.name}”, shown only now: <code id="new-secret">${rotated.secret}</code></p>
          <p>Every delivery from now on is signed with it; the old secret signs nothing more, so update the receiver now.</p></div>`
        : ""
    }
    ${destinations.length === 0 ? html`<p>No destinations yet.</p>` : ""}
    ${destinations.map((destination) => destinationCard(destination, deliveries.get(destination.id) ?? [], csrf, canManage))}
    ${
      canManage
        ? html`<section class="card" aria-labelledby="add-heading"><h2 id="add-heading">Add a destination</h2>
      <form method="post" action="/projects/${project.id}/notifications" class="stack">
        ${csrfField(csrf)}
        <label for="d-name">Name</label><input id="d-name" name="name" required maxlength="100" />
        <label for="d-kind">Kind</label>
        <select id="d-kind" name="kind"><option value="slack">Slack incoming webhook</option><option value="webhook">Generic webhook (signed JSON)</option></select>
        <label for="d-url">URL</label><input id="d-url" name="url" type="url" required spellcheck="false" />
        <fieldset><legend>Events</legend>
          ${notificationEvents.map(
            (event) =>
              html`<label class="choice"><input type="checkbox" name="events" value="${event}" checked /> ${event}</label>`,
          )}
        </fieldset>
        <label for="d-min">Verdicts to send</label>
        <select id="d-min" name="min_verdict">
          <option value="ok">every verdict</option><option value="warning">warning and rollback</option>
          <option value="rollback_recommended">rollback recommended only</option></select>
        <button type="submit" class="button">Add destination</button>
      </form></section>`
        : html`<p class="muted">Destinations are managed with the admin token.</p>`
    }`;
}

function destinationCard(
  destination: Destination,
  deliveries: Delivery[],
  csrf: string,
  canManage: boolean,
): Html {
  return html`<section class="card destination" aria-labelledby="dest-${destination.id}">
    <h2 id="dest-${destination.id}">${destination.name} <span class="muted">${destination.kind}</span></h2>
    <dl class="facts">
      <div><dt>URL</dt><dd><code>${destination.url_display}</code></dd></div>
      <div><dt>Events</dt><dd>${destination.events.join(", ")}</dd></div>
      <div><dt>Verdicts</dt><dd>${destination.min_verdict === "ok" ? "all" : `${destination.min_verdict} and above`}</dd></div>
      <div><dt>Enabled</dt><dd>${destination.enabled ? "yes" : "no"}</dd></div>
    </dl>
    ${
      canManage
        ? html`<div class="actions">
        <form method="post" action="/notifications/${destination.id}/test">${csrfField(csrf)}<button type="submit" class="button secondary">Send test</button></form>
        ${
          destination.enabled
            ? html`<form method="post" action="/notifications/${destination.id}/disable">${csrfField(csrf)}<button type="submit" class="button secondary" title="Nothing new is sent; deliveries still owed are dropped">Disable</button></form>`
            : html`<form method="post" action="/notifications/${destination.id}/enable">${csrfField(csrf)}<button type="submit" class="button secondary">Enable</button></form>`
        }
        ${
          destination.kind === "webhook"
            ? html`<form method="post" action="/notifications/${destination.id}/rotate-secret">${csrfField(csrf)}<button type="submit" class="button secondary" title="The old secret stops signing at once">Rotate secret</button></form>`
            : ""
        }
        <form method="post" action="/notifications/${destination.id}/delete">${csrfField(csrf)}<button type="submit" class="button danger">Delete</button></form>
      </div>`
        : ""
    }
    <h3>Delivery log</h3>
    ${
      deliveries.length === 0
        ? html`<p>Nothing sent yet.</p>`
        : html`<div class="table-wrap"><table class="deliveries"><thead><tr><th scope="col">Event</th><th scope="col">State</th><th scope="col">Attempt</th>
          <th scope="col">Time</th><th scope="col">Status</th><th scope="col">Error</th></tr></thead>
          <tbody>${deliveries.flatMap((delivery) =>
            (delivery.log.length === 0 ? [null] : delivery.log).map(
              (attempt) => html`<tr data-delivery-id="${delivery.delivery_id}">
                <td>${delivery.event}${delivery.deployment_id ? html` <a href="/deployments/${delivery.deployment_id}">deployment</a>` : ""}</td>
                <td>${badge(`delivery-${delivery.state}`, delivery.state)}</td>
                <td>${attempt?.attempt ?? "—"}</td>
                <td>${time(attempt?.attempted_at ?? delivery.created_at)}</td>
                <td>${attempt?.status_code ?? "—"}</td>
                <td>${attempt?.error ?? (delivery.state === "pending" ? html`next attempt ${time(delivery.next_attempt_at)}` : "")}</td></tr>`,
            ),
          )}</tbody></table></div>`
    }
  </section>`;
}
