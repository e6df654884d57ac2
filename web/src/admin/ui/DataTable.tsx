import type { ComponentChildren } from "preact";

export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
  /** A class on the column's cells (`num` right-aligns figures, `actions` the buttons, `name` keeps a long name readable). */
  class?: string;
}

interface DataTableProps<T> {
  caption: string;
  columns: Column<T>[];
  rows: T[] | undefined;
  rowKey: (row: T) => string;
  /** data-* attributes and the test id of each row. */
  rowAttrs?: (row: T) => Record<string, string>;
  empty: string;
  testId?: string;
}

/** The admin pages' one table: a caption for screen readers, scrolls sideways on narrow screens. */
export function DataTable<T>(props: DataTableProps<T>) {
  const { rows } = props;
  return (
    <div class="table-wrap">
      <table class="data-table" data-testid={props.testId} aria-busy={rows === undefined}>
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th key={column.header} scope="col" class={column.class}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows?.map((row) => (
            <tr key={props.rowKey(row)} {...(props.rowAttrs?.(row) ?? {})}>
              {props.columns.map((column) => (
                <td key={column.header} class={column.class} data-label={column.header}>
                  {column.cell(row)}
                </td>
              ))}
            </tr>
          ))}
          {rows === undefined && (
            <tr>
              <td class="table-note" colSpan={props.columns.length}>
                Loading…
              </td>
            </tr>
          )}
          {rows?.length === 0 && (
            <tr>
              <td class="table-note" colSpan={props.columns.length}>
                {props.empty}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
