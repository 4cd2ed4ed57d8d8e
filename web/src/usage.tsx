// Credits and usage: by day (a chart), by integration, table and column; the balance.
import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from "chart.js";
import { useEffect, useRef, useState } from "preact/hooks";
import { errorText, get } from "./api";
import { ErrorNote } from "./ui";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

interface UsageRow {
  date?: string;
  integration?: string;
  tableId?: string;
  tableName?: string;
  fieldId?: string;
  fieldName?: string;
  credits: number;
  runs: number;
}
interface Report {
  balance: number;
  totals: { used: number; runs: number; granted: number };
  breakdowns: Record<"date" | "integration" | "table" | "field", UsageRow[]>;
}

function Breakdown({ title, rows, label }: { title: string; rows: UsageRow[]; label: (r: UsageRow) => string }) {
  return (
    <section class="breakdown">
      <h2>{title}</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{title.replace("By ", "")}</th>
            <th scope="col">Credits</th>
            <th scope="col">Actions run</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">No usage in this period</td>
            </tr>
          )}
          {rows.map((r) => (
            <tr>
              <td>{label(r)}</td>
              <td>{r.credits.toLocaleString()}</td>
              <td>{r.runs.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function UsagePage({ workspaceId }: { workspaceId: number }) {
  const [days, setDays] = useState(30);
  const [report, setReport] = useState<Report | null>(null);
  const [error, setError] = useState("");
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const start = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
    const url =
      `/v3/credit-reporting/${workspaceId}/creditReportType/workspace` +
      `?timeRange[startTime]=${start}`;
    get<Report>(url).then(setReport, (e) => setError(errorText(e)));
  }, [workspaceId, days]);

  useEffect(() => {
    if (!report || !canvas.current) return;
    const byDay = new Map(report.breakdowns.date.map((r) => [r.date, r]));
    const labels: string[] = [];
    for (let i = days - 1; i >= 0; i--) labels.push(new Date(Date.now() - i * 86_400_000).toISOString().slice(0, 10));
    const chart = new Chart(canvas.current, {
      type: "bar",
      data: {
        labels,
        datasets: [
          { label: "Credits", data: labels.map((d) => byDay.get(d)?.credits ?? 0), backgroundColor: "#4f46e5" },
          { label: "Actions run", data: labels.map((d) => byDay.get(d)?.runs ?? 0), backgroundColor: "#a5b4fc" },
        ],
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false },
    });
    return () => chart.destroy();
  }, [report]);

  return (
    <section class="page usage">
      <h1>Credits and usage</h1>
      <ErrorNote error={error} />
      <label>
        Period{" "}
        <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          <option value={7}>last 7 days</option>
          <option value={30}>last 30 days</option>
          <option value={90}>last 90 days</option>
        </select>
      </label>
      {report && (
        <>
          <div class="stats">
            <div>
              <span class="big" data-testid="balance">{report.balance.toLocaleString()}</span> credits left
            </div>
            <div>
              <span class="big">{report.totals.used.toLocaleString()}</span> credits used
            </div>
            <div>
              <span class="big">{report.totals.runs.toLocaleString()}</span> actions run
            </div>
          </div>
          <div class="chart">
            <canvas ref={canvas} role="img" aria-label="Credits and actions by day" />
          </div>
          <div class="breakdowns">
            <Breakdown title="By integration" rows={report.breakdowns.integration} label={(r) => r.integration ?? "?"} />
            <Breakdown title="By table" rows={report.breakdowns.table} label={(r) => r.tableName ?? r.tableId ?? "?"} />
            <Breakdown
              title="By column"
              rows={report.breakdowns.field}
              label={(r) => `${r.tableName ? r.tableName + " · " : ""}${r.fieldName ?? r.fieldId ?? "?"}`}
            />
          </div>
        </>
      )}
    </section>
  );
}
