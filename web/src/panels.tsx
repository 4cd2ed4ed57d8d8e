// The cell panel and the column dialogs: add a column, run columns, show/hide, filter.
import { useEffect, useState } from "preact/hooks";
import {
  type Field,
  type RecordRow,
  type Table,
  type View,
  errorText,
  get,
  patch,
  post,
} from "./api";
import { type DataGrid, TYPE_ICON, display, errorOf } from "./grid";
import { ErrorNote, Modal } from "./ui";

export interface CatalogAction {
  actionKey: string;
  actionPackageId: string;
  displayName: string;
  description?: string;
  inputs: { name: string; optional: boolean; displayName?: string; type?: string }[];
  credits: number;
}

let catalogCache: Promise<CatalogAction[]> | null = null;

/** The action catalog, `GET /v3/actions?workspaceId=` (spec part 2 §7): Clay's action keys
 * and package ids, each action's inputs and price. */
export function loadCatalog(workspaceId: number): Promise<CatalogAction[]> {
  catalogCache ??= (async () => {
    const data = await get<{ actions: any[] }>(`/v3/actions?workspaceId=${workspaceId}`);
    return data.actions
      .map((a) => ({
        actionKey: a.actionKey ?? a.key,
        actionPackageId: a.actionPackageId,
        displayName: a.displayName ?? a.key,
        description: a.description,
        inputs: (a.inputParameterSchema ?? []).map((p: any) => ({
          name: p.name,
          optional: !!p.optional,
          displayName: p.displayName,
          type: p.type,
        })),
        credits: a.pricing?.credits ?? 0,
      }))
      .sort((x, y) => x.displayName.localeCompare(y.displayName));
  })();
  catalogCache.catch(() => (catalogCache = null));
  return catalogCache;
}

export function CellPanel(props: { table: Table; row: RecordRow; field: Field; onClose: () => void }) {
  const { field, row } = props;
  const [current, setCurrent] = useState(row);
  const [price, setPrice] = useState<number | null | undefined>(undefined);
  useEffect(() => {
    setCurrent(row);
    get<RecordRow>(`/v3/tables/${props.table.id}/records/${encodeURIComponent(row.id)}`).then(
      setCurrent,
      () => {},
    );
    if (field.type === "action")
      loadCatalog(props.table.workspaceId).then(
        (list) => {
          const action = list.find((a) => a.actionKey === field.typeSettings?.actionKey);
          setPrice(action ? action.credits : null);
        },
        () => setPrice(null),
      );
  }, [row.id, field.id]);
  const cell = current.cells?.[field.id];
  const status = cell?.metadata?.status ?? (cell ? "—" : "empty");
  const full = cell?.externalContent?.fullValue;
  const charged = status === "SUCCESS" || status === "SUCCESS_NO_DATA";
  return (
    <aside class="cell-panel" aria-label="Cell details" role="complementary">
      <header>
        <h2>
          {TYPE_ICON[field.type]} {field.name}
        </h2>
        <button type="button" class="close" aria-label="Close the cell panel" onClick={props.onClose}>
          ×
        </button>
      </header>
      <dl>
        <dt>Row</dt>
        <dd>
          <code>{row.id}</code>
        </dd>
        <dt>Status</dt>
        <dd data-testid="cell-status">{status}</dd>
        {status.startsWith("ERROR") && (
          <>
            <dt>Error</dt>
            <dd class="error">{errorOf(cell)}</dd>
          </>
        )}
        <dt>Value</dt>
        <dd>{display(cell?.value) || <span class="muted">(blank)</span>}</dd>
        {field.type === "action" && (
          <>
            <dt>Credits</dt>
            <dd data-testid="cell-credits">
              {price === undefined ? "…" : price === null ? "unknown" : charged ? `${price} (the action's price, charged once)` : "0 (not charged)"}
            </dd>
          </>
        )}
      </dl>
      <h3>Full result</h3>
      <pre class="json" data-testid="cell-json" tabIndex={0}>
        {full === undefined ? JSON.stringify(cell ?? null, null, 2) : JSON.stringify(full, null, 2)}
      </pre>
    </aside>
  );
}

const TYPES = ["text", "number", "boolean", "date", "url", "email", "phone", "currency", "percent"];

function ColumnPicker(props: { table: Table; onPick: (ref: string) => void; label: string }) {
  return (
    <select
      aria-label={props.label}
      value=""
      onChange={(e) => {
        if (e.currentTarget.value) props.onPick(`{{${e.currentTarget.value}}}`);
        e.currentTarget.value = "";
      }}
    >
      <option value="">Insert a column…</option>
      {props.table.fields.map((f) => (
        <option value={f.id}>{f.name}</option>
      ))}
    </select>
  );
}

const COLUMN_REF = /^\{\{(f_[\w-]+)\}\}$/;

/** One action input: a column picker (the input is that column) and the formula it makes,
 * editable for anything more than one column. */
function InputBinding(props: {
  table: Table;
  input: CatalogAction["inputs"][number];
  value: string;
  onChange: (formula: string) => void;
}) {
  const { input, table } = props;
  const bound = COLUMN_REF.exec(props.value.trim())?.[1] ?? "";
  const title = input.displayName ?? input.name;
  return (
    <fieldset class="binding">
      <legend>
        {title}
        {input.optional ? " (optional)" : ""}
        {input.type ? <span class="muted"> · {input.type}</span> : null}
      </legend>
      <label>
        Column
        <select
          aria-label={`Bind ${input.name} to a column`}
          value={bound || (props.value.trim() ? "__formula" : "")}
          onChange={(e) => {
            const v = e.currentTarget.value;
            if (v !== "__formula") props.onChange(v ? `{{${v}}}` : "");
          }}
        >
          <option value="">{input.optional ? "(not set)" : "Choose a column…"}</option>
          {table.fields.map((f) => (
            <option value={f.id}>{f.name}</option>
          ))}
          <option value="__formula" disabled>
            a formula (below)
          </option>
        </select>
      </label>
      <label>
        Formula
        <input
          name={`input-${input.name}`}
          aria-label={`Formula for ${input.name}`}
          value={props.value}
          required={!input.optional}
          placeholder={`{{f_…}} or "text"`}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      </label>
    </fieldset>
  );
}

export function AddColumnDialog(props: {
  table: Table;
  viewId: string;
  onClose: () => void;
  onDone: () => Promise<void>;
}) {
  const { table } = props;
  const [name, setName] = useState("");
  const [kind, setKind] = useState("text");
  const [formula, setFormula] = useState("");
  const [preview, setPreview] = useState<{ recordId: string; value: any; error: string | null }[]>([]);
  const [previewError, setPreviewError] = useState("");
  const [catalog, setCatalog] = useState<CatalogAction[]>([]);
  const [actionIndex, setActionIndex] = useState(-1);
  const [bindings, setBindings] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (kind === "action" && !catalog.length)
      loadCatalog(table.workspaceId).then(setCatalog, (e) => setError(errorText(e)));
  }, [kind]);
  useEffect(() => {
    if (kind !== "formula" || !formula.trim()) return setPreview([]);
    const timer = setTimeout(() => {
      post(`/_claystack/ui/tables/${table.id}/views/${props.viewId}/formula-preview`, {
        formulaText: formula,
        limit: 5,
      }).then(
        (d) => (setPreview(d.results), setPreviewError("")),
        (e) => setPreviewError(errorText(e)),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [formula, kind]);

  const action = catalog[actionIndex];
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      let body: any;
      if (kind === "formula")
        body = {
          name,
          type: "formula",
          typeSettings: { formulaText: formula, formulaType: "text", dataTypeSettings: { type: "text" } },
        };
      else if (kind === "action") {
        if (!action) throw new Error("Choose an action");
        body = {
          name,
          type: "action",
          typeSettings: {
            actionKey: action.actionKey,
            actionPackageId: action.actionPackageId,
            inputsBinding: action.inputs
              .filter((i) => (bindings[i.name] ?? "").trim())
              .map((i) => ({ name: i.name, formulaText: bindings[i.name] })),
          },
        };
      } else body = { name, type: kind, typeSettings: {} };
      const r = await post<{ field: Field }>(`/v3/tables/${table.id}/fields`, body);
      if (kind === "formula") {
        // Fills the existing rows now (a server that already did keeps its SUCCESS cells).
        await patch(`/v3/tables/${table.id}/run`, {
          fieldIds: [r.field.id],
          runRecords: { viewIdTopRecords: { viewId: props.viewId } },
          callerName: "claystack-web",
        });
      }
      await props.onDone();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title="Add a column" onClose={props.onClose} wide>
      <form onSubmit={submit}>
        <label>
          Name
          <input required aria-label="Column name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Kind
          <select aria-label="Kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {TYPES.map((t) => (
              <option value={t}>
                {TYPE_ICON[t]} {t}
              </option>
            ))}
            <option value="formula">ƒ formula</option>
            <option value="action">⚡ enrichment (action)</option>
          </select>
        </label>
        {kind === "formula" && (
          <>
            <label>
              Formula (JavaScript; refer to columns as {"{{f_…}}"})
              <textarea
                aria-label="Formula"
                rows={3}
                value={formula}
                onInput={(e) => setFormula(e.currentTarget.value)}
                placeholder="{{f_name}}?.toUpperCase()"
              />
            </label>
            <ColumnPicker table={table} label="Insert a column into the formula" onPick={(r) => setFormula(formula + r)} />
            <h3>Preview of the first rows</h3>
            <ErrorNote error={previewError} />
            <table class="preview" aria-label="Formula preview">
              <tbody>
                {preview.map((p, i) => (
                  <tr>
                    <th scope="row">{i + 1}</th>
                    <td class={p.error ? "error" : ""}>{p.error ?? display(p.value)}</td>
                  </tr>
                ))}
                {!preview.length && (
                  <tr>
                    <td class="muted">Type a formula to see its values</td>
                  </tr>
                )}
              </tbody>
            </table>
          </>
        )}
        {kind === "action" && (
          <>
            <label>
              Action
              <select aria-label="Action" value={actionIndex} onChange={(e) => (setActionIndex(Number(e.currentTarget.value)), setBindings({}))}>
                <option value={-1}>Choose an action…</option>
                {catalog.map((a, i) => (
                  <option value={i}>
                    {a.displayName} ({a.credits} credits)
                  </option>
                ))}
              </select>
            </label>
            {action?.description && <p class="muted">{action.description}</p>}
            {action && (
              <p class="muted">
                Bind each input to a column, or write a formula over columns (
                <code>{"{{f_…}}"}</code> stands for a column).
              </p>
            )}
            {action?.inputs.map((input) => (
              <InputBinding
                table={table}
                input={input}
                value={bindings[input.name] ?? ""}
                onChange={(v) => setBindings({ ...bindings, [input.name]: v })}
              />
            ))}
          </>
        )}
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            Add column
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function RunDialog(props: {
  table: Table;
  viewId: string;
  selected: string[];
  onClose: () => void;
  onStarted: () => void;
}) {
  const { table } = props;
  const runnable = table.fields.filter((f) => f.type === "action" || f.type === "formula");
  const [fieldIds, setFieldIds] = useState<string[]>(runnable.slice(-1).map((f) => f.id));
  const [scope, setScope] = useState(props.selected.length ? "selected" : "all");
  const [count, setCount] = useState(10);
  const [force, setForce] = useState(false);
  const [error, setError] = useState("");
  const errored = table.views.find((v) => v.typeSettings?.preconfiguredType === "errored-rows");

  async function submit(e: Event) {
    e.preventDefault();
    setError("");
    let runRecords: any;
    if (scope === "all") runRecords = { viewIdTopRecords: { viewId: props.viewId } };
    else if (scope === "first") runRecords = { viewIdTopRecords: { viewId: props.viewId, numRecords: count } };
    else if (scope === "selected") runRecords = { recordIds: props.selected };
    else if (errored) runRecords = { viewId: errored.id };
    else return setError('This table has no "Errored rows" view to run from');
    try {
      await patch(`/v3/tables/${table.id}/run`, {
        fieldIds,
        runRecords,
        forceRun: force || scope === "errored",
        callerName: "claystack-web",
      });
      props.onStarted();
      props.onClose();
    } catch (err) {
      setError(errorText(err));
    }
  }
  return (
    <Modal title="Run columns" onClose={props.onClose}>
      <form onSubmit={submit}>
        <fieldset>
          <legend>Columns</legend>
          {runnable.map((f) => (
            <label class="check">
              <input
                type="checkbox"
                checked={fieldIds.includes(f.id)}
                onChange={(e) =>
                  setFieldIds(e.currentTarget.checked ? [...fieldIds, f.id] : fieldIds.filter((x) => x !== f.id))
                }
              />{" "}
              {TYPE_ICON[f.type]} {f.name}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Rows</legend>
          {[
            ["all", "All rows of this view"],
            ["first", "The first rows"],
            ["selected", `Selected rows (${props.selected.length})`],
            ["errored", "Rows whose cells errored"],
          ].map(([value, text]) => (
            <label class="check">
              <input type="radio" name="scope" value={value} checked={scope === value}
                disabled={value === "selected" && !props.selected.length}
                onChange={() => setScope(value)} />{" "}
              {text}
              {value === "first" && (
                <input type="number" min={1} aria-label="How many rows" class="small" value={count}
                  onInput={(e) => setCount(Number(e.currentTarget.value))} />
              )}
            </label>
          ))}
        </fieldset>
        <label class="check">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Re-run
          cells that already succeeded
        </label>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={!fieldIds.length}>Run</button>
        </div>
      </form>
    </Modal>
  );
}

export function ColumnsMenu(props: { table: Table; grid: DataGrid; onClose: () => void }) {
  const api = props.grid.api;
  const [, setTick] = useState(0);
  return (
    <Modal title="Columns" onClose={props.onClose}>
      <p class="muted">Show, hide and pin columns; drag headers to reorder, drag their edges to resize.</p>
      <ul class="column-list">
        {props.table.fields.map((f) => {
          const col = api.getColumn(f.id);
          return (
            <li>
              <label class="check">
                <input type="checkbox" checked={!!col?.isVisible()}
                  onChange={(e) => (api.setColumnsVisible([f.id], e.currentTarget.checked), setTick((t) => t + 1))} />{" "}
                {TYPE_ICON[f.type]} {f.name}
              </label>
              <label class="check">
                <input type="checkbox" checked={!!col?.isPinned()}
                  onChange={(e) => (api.setColumnsPinned([f.id], e.currentTarget.checked ? "left" : null), setTick((t) => t + 1))} />{" "}
                pinned
              </label>
            </li>
          );
        })}
      </ul>
    </Modal>
  );
}

const OPERATORS: [string, string][] = [
  // [label, Clay's filter item type (spec part 2 §5)]
  ["contains", "CONTAIN"],
  ["equals", "EQUAL"],
  ["does not equal", "NOT_EQUAL"],
  ["does not contain", "NOT_CONTAIN"],
  ["is empty", "EMPTY"],
  ["is not empty", "NOT_EMPTY"],
];

export function FilterDialog(props: {
  table: Table;
  view: View | undefined;
  save: (filter: unknown) => Promise<void>;
  onClose: () => void;
  onDone: () => Promise<void>;
}) {
  const first = props.view?.filter?.items?.[0];
  const [fieldId, setFieldId] = useState<string>(first?.fieldId ?? props.table.fields[0]?.id ?? "");
  const [op, setOp] = useState(Math.max(0, OPERATORS.findIndex(([, type]) => type === first?.type)));
  const [value, setValue] = useState<string>(first?.value ?? "");
  const [error, setError] = useState("");
  async function apply(clear: boolean) {
    const [, type] = OPERATORS[op];
    const items = clear ? [] : [{ fieldId, type, value }];
    try {
      await props.save({ combinationMode: "AND", items });
      await props.onDone();
      props.onClose();
    } catch (e) {
      setError(errorText(e));
    }
  }
  return (
    <Modal title="Filter rows" onClose={props.onClose}>
      <form onSubmit={(e) => (e.preventDefault(), apply(false))}>
        <label>
          Column
          <select value={fieldId} onChange={(e) => setFieldId(e.currentTarget.value)}>
            {props.table.fields.map((f) => (
              <option value={f.id}>{f.name}</option>
            ))}
          </select>
        </label>
        <label>
          Condition
          <select value={op} onChange={(e) => setOp(Number(e.currentTarget.value))}>
            {OPERATORS.map(([label], i) => (
              <option value={i}>{label}</option>
            ))}
          </select>
        </label>
        <label>
          Value
          <input value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        </label>
        <ErrorNote error={error} />
        <div class="actions">
          <button type="button" onClick={() => apply(true)}>Clear filter</button>
          <button type="submit" class="primary">Apply</button>
        </div>
      </form>
    </Modal>
  );
}
