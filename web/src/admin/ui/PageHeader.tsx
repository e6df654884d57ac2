import type { ComponentChildren } from "preact";

/** A page's heading, a line saying what it is for, and its page-wide controls on the right. */
export function PageHeader(props: { title: string; intro: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <div>
        <h2 class="page-title">{props.title}</h2>
        <p class="page-intro">{props.intro}</p>
      </div>
      {props.children && <div class="page-tools">{props.children}</div>}
    </div>
  );
}
