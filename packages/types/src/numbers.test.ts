import { describe, expect, it } from "vitest";
import { formatMetricValue, median } from "./numbers.js";

describe("median", () => {
  it("is the middle value of an odd list and the mean of the middle two of an even one", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it("stays finite for two values near Number.MAX_VALUE", () => {
    expect(median([1.7e308, 1.7e308])).toBe(1.7e308);
    expect(median([-1.7e308, -1.7e308])).toBe(-1.7e308);
    expect(Number.isFinite(median([Number.MAX_VALUE, Number.MAX_VALUE]) as number)).toBe(true);
  });
});

describe("formatMetricValue", () => {
  it("gives each metric its unit", () => {
    expect(formatMetricValue("latency_p95", 182.4)).toBe("182 ms");
    expect(formatMetricValue("latency_p95", 4.25)).toBe("4.25 ms");
    expect(formatMetricValue("requests_per_sec", 41.23)).toBe("41.23 req/s");
    expect(formatMetricValue("error_rate", 0.004)).toBe("0.40 %");
    expect(formatMetricValue("cpu_usage", 0.41)).toBe("41.0 %");
    expect(formatMetricValue("queue_depth", 12)).toBe("12");
    expect(formatMetricValue("latency_p95", null)).toBe("—");
  });
});
