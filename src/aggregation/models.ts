// The samples of model monitors' families, written by the aggregator that
// runs the monitors. Internal.
import type { ExpositionFormat } from "../base/exposition.ts";
import { escapeLabelValue, formatValue } from "../base/_text.ts";
import type { ModelMonitor } from "../drift/monitor.ts";
import type { ByteWriter } from "./codec.ts";
import type { ModelFamilyDefinition } from "./protocol.ts";

const WINDOWS = ["recent", "lifetime"] as const;
const SEVERITIES = ["warning", "drift"] as const;

/** Appends one sample line: `name{pairs,extra} value`. */
function line(
  writer: ByteWriter,
  name: string,
  pairs: string,
  extra: string,
  value: number,
  format: ExpositionFormat,
): void {
  writer.text(name);
  writer.text("{");
  writer.text(pairs);
  writer.text(extra);
  writer.text("} ");
  writer.text(formatValue(value, format));
  writer.text("\n");
}

/**
 * Appends a monitor's samples of one model family. Quality figures and
 * prediction counts are a classifier's only; drift figures are every
 * monitor's, one series per detector.
 */
export function renderModelFamily(
  family: ModelFamilyDefinition,
  monitor: ModelMonitor,
  writer: ByteWriter,
  format: ExpositionFormat,
): void {
  const { name, metric } = family;
  const { pairs } = monitor.definition;
  const matrix = monitor.matrix;
  switch (metric) {
    case "accuracy":
    case "precision":
    case "recall":
    case "f1_score": {
      if (matrix === undefined) return;
      for (const window of WINDOWS) {
        const figures = matrix.figures(window);
        const value = metric === "accuracy"
          ? figures.accuracy
          : metric === "precision"
          ? figures.precision
          : metric === "recall"
          ? figures.recall
          : figures.f1Score;
        line(writer, name, pairs, `,window="${window}"`, value, format);
      }
      return;
    }
    case "predictions": {
      if (matrix === undefined) return;
      const counts = matrix.predictedCounts();
      monitor.classes.forEach((label, i) => {
        line(
          writer,
          name,
          pairs,
          `,predicted_class="${escapeLabelValue(label)}"`,
          counts[i] ?? 0,
          format,
        );
      });
      return;
    }
    default:
      for (const figures of monitor.detectorFigures()) {
        const extra = `,detector_type="${figures.type}"`;
        if (metric === "drift_state") {
          line(writer, name, pairs, extra, figures.state, format);
        } else if (metric === "drift_score") {
          line(writer, name, pairs, extra, figures.score, format);
        } else {
          for (const severity of SEVERITIES) {
            line(
              writer,
              name,
              pairs,
              `${extra},severity="${severity}"`,
              severity === "drift" ? figures.drifts : figures.warnings,
              format,
            );
          }
        }
      }
  }
}
