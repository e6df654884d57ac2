import DOMPurify from "dompurify";

/**
 * The last step before any model text becomes HTML: DOMPurify on the final HTML (after markdown
 * and highlighting). Forms and controls are dropped (a button in an answer could submit to this
 * origin); classes are kept only where our own styles need them, so an answer cannot dress itself
 * up as the app; links open in a new tab without a handle on this one.
 */
const purify = DOMPurify(window);

const KEPT_CLASS = /^(hljs[\w-]*|language-[\w+#.-]+|code-block)$/;

purify.addHook("uponSanitizeAttribute", (_node, data) => {
  if (data.attrName === "class") {
    data.attrValue = data.attrValue
      .split(/\s+/)
      .filter((name) => KEPT_CLASS.test(name))
      .join(" ");
  }
});

purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/**
 * Set once on this app's own instance: DOMPurify parses a config passed to each `sanitize` call
 * again on every call, and a streaming answer is sanitized again on every frame it changes.
 */
purify.setConfig({
  // SVG and MathML: rarely wanted in an answer, and the namespaces where sanitizer bypasses live.
  FORBID_TAGS: [
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "option",
    "style",
    "iframe",
    "frame",
    "svg",
    "math",
  ],
  FORBID_ATTR: ["style", "formaction", "action"],
  ADD_ATTR: ["target"],
  SANITIZE_NAMED_PROPS: true,
  ALLOW_UNKNOWN_PROTOCOLS: false,
});

export function sanitize(html: string): string {
  return purify.sanitize(html);
}
