// Getting rows in and out: webhook sources, CSV import, export of a view.
import Papa from "papaparse";
import { useEffect, useState } from "preact/hooks";
import { type Field, type Table, errorText, get, patch, post } from "./api";
import { CopyButton, ErrorNote, Modal, Progress } from "./ui";

interface Source {
  id: string;
  name: string;
  url?: string;
  hasAuthToken?: boolean;
  numSourceRecords?: number;
  authToken?: string;
}

export function WebhookDialog(props: { table: Table; onClose: () => void; onDone: () => void }) {
  const { table } = props;
  const [sources, setSources] = useState<Source[] | null>(null);
  const [name, setName] = useState("Webhook");
  const [withToken, setWithToken] = useState(true);
  const [created, setCreated] = useState<Source | null>(null);
  const [error, setError] = useState("");
  const load = () =>
    get<Source[]>(`/v3/tables/${table.id}/sources`).then(setSources, (e) => setError(errorText(e)));
  useEffect(() => {
    load();
  }, []);
  async function add(e: Event) {
    e.preventDefault();
    setError("");
    try {
      const r = await patch<{ source: Source }>(`/v3/tables/${table.id}`, {
        sourceSettings: {
          addSource: {
            name,
            source: {
              name,
              workspaceId: table.workspaceId,
              type: "webhook",
              typeSettings: { urlSlugText: name, generateAuthToken: withToken },
            },
          },
        },
      });
      setCreated(r.source);
      load();
      props.onDone();
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <Modal title="Webhook sources" onClose={props.onClose} wide>
      {created && (
        <div class="created" role="status">
          <h3>Webhook “{created.name}” added</h3>
          <p>POST JSON objects to this URL; each becomes a row.</p>
          <div class="copy-row">
            <code data-testid="webhook-url">{created.url}</code>
            <CopyButton text={created.url ?? ""} label="Copy the webhook URL" />
          </div>
          {created.authToken && (
            <>
              <p>
                Send it in the <code>x-clay-webhook-auth</code> header. <strong>This token is shown only once.</strong>
              </p>
              <div class="copy-row">
                <code data-testid="webhook-token">{created.authToken}</code>
                <CopyButton text={created.authToken} label="Copy the webhook token" />
              </div>
            </>
          )}
        </div>
      )}
      <h3>Sources of this table</h3>
      <ul class="sources">
        {sources?.length === 0 && <li class="muted">None yet</li>}
        {sources?.map((s) => (
          <li>
            <strong>{s.name}</strong> · {s.numSourceRecords ?? 0} rows received
            {s.hasAuthToken ? " · token required" : ""}
            <div class="copy-row">
              <code>{s.url}</code>
              <CopyButton text={s.url ?? ""} label={`Copy the URL of ${s.name}`} />
            </div>
          </li>
        ))}
      </ul>
      <form onSubmit={add}>
        <h3>Add a webhook</h3>
        <label>
          Name
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" checked={withToken} onChange={(e) => setWithToken(e.currentTarget.checked)} /> Require
          a token
        </label>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="submit" class="primary">Add webhook</button>
        </div>
      </form>
    </Modal>
  );
}

export function ImportDialog(props: { table: Table; onClose: () => void; onDone: () => Promise<void> }) {
  const { table } = props;
  const [file, setFile] = useState<File | null>(null);
  const [done, setDone] = useState(0);
  const [total, setTotal] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [finished, setFinished] = useState("");

  async function run(e: Event) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError("");
    try {
      const text = await file.text();
      const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
      const headers = (parsed.meta.fields ?? []).filter((h) => h.trim());
      if (!headers.length) throw new Error("The file has no header row");
      const byName = new Map(table.fields.map((f) => [f.name, f.id]));
      for (const header of headers) {
        if (byName.has(header)) continue;
        const r = await post<{ field: Field }>(`/v3/tables/${table.id}/fields`, { name: header, type: "text" });
        byName.set(header, r.field.id);
      }
      const rows = parsed.data;
      setTotal(rows.length);
      for (let i = 0; i < rows.length; i += 1000) {
        const records = rows.slice(i, i + 1000).map((row) => {
          const cells: Record<string, string> = {};
          for (const h of headers) if (row[h] !== undefined && row[h] !== "") cells[byName.get(h)!] = row[h];
          return { cells };
        });
        await post(`/v3/tables/${table.id}/records`, { records });
        setDone(Math.min(rows.length, i + 1000));
      }
      setFinished(`Imported ${rows.length.toLocaleString()} rows from ${file.name}`);
      await props.onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal title="Import a CSV file" onClose={props.onClose}>
      <form onSubmit={run}>
        <p class="muted">
          The first row names the columns; columns this table lacks are added as text columns.
        </p>
        <label>
          CSV file
          <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
        {total > 0 && <Progress value={done} max={total} label="Rows imported" />}
        {finished && <p role="status" class="notice">{finished}</p>}
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>Close</button>
          <button type="submit" class="primary" disabled={!file || busy}>Import</button>
        </div>
      </form>
    </Modal>
  );
}

export function ExportButton(props: {
  table: Table;
  viewId: string;
  onError: (m: string) => void;
  onNotice: (m: string) => void;
}) {
  const [busy, setBusy] = useState(false);
  async function exportView() {
    const { table, viewId } = props;
    setBusy(true);
    try {
      // Spec part 2 §3.5: an export job, then its signed download URL.
      let job = await post<any>(`/v3/tables/${table.id}/views/${viewId}/export`, {});
      while (job.status === "ACTIVE") {
        props.onNotice(`Exporting… ${(job.recordsExportedCount ?? 0).toLocaleString()} rows`);
        await new Promise((r) => setTimeout(r, 500));
        job = await get<any>(`/v3/exports/${job.id}`);
      }
      if (job.status !== "FINISHED") throw new Error(`The export ${job.status.toLowerCase()}`);
      props.onNotice(`Exported ${(job.recordsExportedCount ?? 0).toLocaleString()} rows`);
      // The signed URL names the server's public base URL; this page's origin serves it too.
      const url = new URL(job.downloadUrl ?? job.url, location.href);
      window.location.assign(url.pathname + url.search);
    } catch (e) {
      props.onError(errorText(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" onClick={exportView} disabled={busy}>
      {busy ? "Exporting…" : "Export CSV"}
    </button>
  );
}
