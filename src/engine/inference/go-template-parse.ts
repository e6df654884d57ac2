/**
 * Parser for the subset of Go's text/template that Ollama's model templates use: text, actions
 * with `{{-`/`-}}` trimming, comments, pipelines with `|`, variables (`$x := ...`, `$x = ...`,
 * `range $i, $e := ...`), fields (`.A.B`, `$x.A`, `$.A`), literals, function calls and
 * parenthesized pipelines, and `if`/`else if`/`else`/`range`/`with`/`end`/`break`/`continue`.
 * `define`/`template`/`block` are rejected: no library template needs them.
 */

export type Arg =
  | { type: "field"; variable?: string; path: string[] }
  | { type: "literal"; value: string | number | boolean | null }
  | { type: "func"; name: string }
  | { type: "paren"; pipe: Pipe; path: string[] };

export interface Pipe {
  /** Variables declared (`:=`) or assigned (`=`) from the pipeline's result. */
  vars: string[];
  assign: boolean;
  commands: Arg[][];
}

export type Node =
  | { type: "text"; text: string }
  | { type: "print"; pipe: Pipe }
  | { type: "if" | "range" | "with"; pipe: Pipe; list: Node[]; elseList?: Node[] }
  | { type: "break" | "continue" };

type BlockNode = Extract<Node, { list: Node[] }>;

class GoTemplateSyntaxError extends Error {}

type Token =
  | { t: "field"; variable?: string; path: string[] }
  | { t: "string" | "number" | "ident"; v: string }
  | { t: "(" | ")" | "|" | ":=" | "=" | "," };

const FIELD_CHAIN = /^(?:\.[A-Za-z_]\w*)+/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const ch = src[i] as string;
    let m: RegExpExecArray | null;
    if (/\s/.test(ch)) {
      i++;
    } else if (rest.startsWith(":=")) {
      tokens.push({ t: ":=" });
      i += 2;
    } else if ("()|=,".includes(ch)) {
      tokens.push({ t: ch as "(" | ")" | "|" | "=" | "," });
      i++;
    } else if (ch === '"') {
      m = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
      if (!m) throw new GoTemplateSyntaxError("unterminated quoted string");
      tokens.push({ t: "string", v: JSON.parse(m[0]) as string });
      i += m[0].length;
    } else if (ch === "`") {
      const end = src.indexOf("`", i + 1);
      if (end < 0) throw new GoTemplateSyntaxError("unterminated raw string");
      tokens.push({ t: "string", v: src.slice(i + 1, end) });
      i = end + 1;
    } else if ((m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(rest))) {
      tokens.push({ t: "number", v: m[0] });
      i += m[0].length;
    } else if ((m = /^\$(\w*)/.exec(rest))) {
      const chain = FIELD_CHAIN.exec(rest.slice(m[0].length));
      tokens.push({ t: "field", variable: `$${m[1]}`, path: chain ? chain[0].slice(1).split(".") : [] });
      i += m[0].length + (chain ? chain[0].length : 0);
    } else if (ch === ".") {
      m = FIELD_CHAIN.exec(rest);
      tokens.push({ t: "field", path: m ? m[0].slice(1).split(".") : [] });
      i += m ? m[0].length : 1;
    } else if ((m = /^[A-Za-z_]\w*/.exec(rest))) {
      tokens.push({ t: "ident", v: m[0] });
      i += m[0].length;
    } else {
      throw new GoTemplateSyntaxError(`unexpected ${JSON.stringify(ch)} in action`);
    }
  }
  return tokens;
}

class PipeParser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parsePipe(allowDecl: boolean): Pipe {
    const pipe: Pipe = { vars: [], assign: false, commands: [] };
    if (allowDecl) this.parseDecl(pipe);
    for (;;) {
      const command: Arg[] = [];
      while (this.at < this.tokens.length) {
        const token = this.tokens[this.at] as Token;
        if (token.t === "|" || token.t === ")") break;
        command.push(this.parseArg());
      }
      if (command.length === 0) throw new GoTemplateSyntaxError("missing value for command");
      pipe.commands.push(command);
      if (this.tokens[this.at]?.t !== "|") break;
      this.at++;
    }
    return pipe;
  }

  done(): boolean {
    return this.at >= this.tokens.length;
  }

  private parseDecl(pipe: Pipe): void {
    const vars: string[] = [];
    let j = this.at;
    for (;;) {
      const token = this.tokens[j];
      if (token?.t !== "field" || token.variable === undefined || token.path.length > 0) return;
      vars.push(token.variable);
      j++;
      if (this.tokens[j]?.t === ",") j++;
      else break;
    }
    const op = this.tokens[j]?.t;
    if (op !== ":=" && op !== "=") return;
    pipe.vars = vars;
    pipe.assign = op === "=";
    this.at = j + 1;
  }

  private parseArg(): Arg {
    const token = this.tokens[this.at++] as Token;
    switch (token.t) {
      case "field":
        return { type: "field", variable: token.variable, path: token.path };
      case "string":
        return { type: "literal", value: token.v };
      case "number":
        return { type: "literal", value: Number(token.v) };
      case "ident":
        if (token.v === "true" || token.v === "false") return { type: "literal", value: token.v === "true" };
        if (token.v === "nil") return { type: "literal", value: null };
        return { type: "func", name: token.v };
      case "(": {
        const pipe = this.parsePipe(false);
        if (this.tokens[this.at++]?.t !== ")") throw new GoTemplateSyntaxError("unclosed left paren");
        // `(pipeline).Field`: the tokenizer reads a field right after `)` as its own token.
        const next = this.tokens[this.at];
        let path: string[] = [];
        if (next?.t === "field" && next.variable === undefined && next.path.length > 0) {
          path = next.path;
          this.at++;
        }
        return { type: "paren", pipe, path };
      }
      case ",":
      case ":=":
      case ")":
      case "=":
      case "|":
        throw new GoTemplateSyntaxError(`unexpected "${token.t}" in command`);
    }
  }
}

function parseAction(body: string, allowDecl = true): Pipe {
  const parser = new PipeParser(tokenize(body));
  const pipe = parser.parsePipe(allowDecl);
  if (!parser.done()) throw new GoTemplateSyntaxError(`unexpected token in action: ${body.trim()}`);
  return pipe;
}

/** Splits a template into text and action bodies, applying `{{-` / `-}}` whitespace trimming. */
function* scan(source: string): Generator<{ text: string } | { action: string }> {
  let at = 0;
  let trimNext = false;
  while (at < source.length) {
    const open = source.indexOf("{{", at);
    let text = source.slice(at, open < 0 ? source.length : open);
    if (trimNext) text = text.trimStart();
    if (open < 0) {
      if (text) yield { text };
      return;
    }
    let start = open + 2;
    if (/^- /.test(source.slice(start, start + 2)) || /^-[\t\r\n]/.test(source.slice(start, start + 2))) {
      text = text.trimEnd();
      start += 1;
    }
    if (text) yield { text };
    // Find the closing `}}` outside string literals.
    let i = start;
    let quote: string | undefined;
    for (; i < source.length; i++) {
      const ch = source[i];
      if (quote) {
        if (ch === "\\" && quote === '"') i++;
        else if (ch === quote) quote = undefined;
      } else if (ch === '"' || ch === "`") quote = ch;
      else if (source.startsWith("}}", i)) break;
    }
    if (i >= source.length) throw new GoTemplateSyntaxError("unclosed action");
    let body = source.slice(start, i);
    trimNext = /[ \t\r\n]-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    at = i + 2;
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) continue;
    yield { action: body };
  }
}

/** Parses a Go template into a node list; throws GoTemplateSyntaxError. */
export function parseGoTemplate(source: string): Node[] {
  const root: Node[] = [];
  // Each frame: the block being built, the list receiving nodes, and whether it is an
  // `else if` link that the same `{{end}}` closes together with its parent.
  const stack: { node: BlockNode; list: Node[]; chained: boolean }[] = [];
  const current = () => stack.at(-1)?.list ?? root;

  for (const part of scan(source)) {
    if ("text" in part) {
      current().push({ type: "text", text: part.text });
      continue;
    }
    const body = part.action.trim();
    const keyword = /^[a-z]+\b/.exec(body)?.[0];
    const rest = keyword ? body.slice(keyword.length) : body;
    switch (keyword) {
      case "if":
      case "range":
      case "with": {
        const node: BlockNode = { type: keyword, pipe: parseAction(rest), list: [] };
        current().push(node);
        stack.push({ node, list: node.list, chained: false });
        break;
      }
      case "else": {
        const frame = stack.at(-1);
        if (!frame || frame.node.elseList) throw new GoTemplateSyntaxError("unexpected {{else}}");
        frame.node.elseList = [];
        frame.list = frame.node.elseList;
        const chained = /^\s*(if|with)\b/.exec(rest);
        if (chained) {
          const type = chained[1] as "if" | "with";
          const node: BlockNode = { type, pipe: parseAction(rest.slice(chained[0].length)), list: [] };
          frame.list.push(node);
          stack.push({ node, list: node.list, chained: true });
        }
        break;
      }
      case "end": {
        if (rest.trim() !== "") throw new GoTemplateSyntaxError("unexpected tokens after end");
        let frame = stack.pop();
        if (!frame) throw new GoTemplateSyntaxError("unexpected {{end}}");
        while (frame?.chained) frame = stack.pop();
        break;
      }
      case "break":
      case "continue":
        if (!stack.some((f) => f.node.type === "range")) {
          throw new GoTemplateSyntaxError(`{{${keyword}}} outside {{range}}`);
        }
        current().push({ type: keyword });
        break;
      case "define":
      case "template":
      case "block":
        throw new GoTemplateSyntaxError(`{{${keyword}}} is not supported`);
      case undefined:
      default:
        current().push({ type: "print", pipe: parseAction(body) });
    }
  }
  if (stack.length > 0)
    throw new GoTemplateSyntaxError(`unexpected EOF: unclosed {{${stack[0]?.node.type}}}`);
  return root;
}

/** Lower-cased field names a template refers to (Ollama's `Template.Vars`). */
export function templateFields(nodes: readonly Node[]): Set<string> {
  const fields = new Set<string>();
  const visitPipe = (pipe: Pipe) => {
    for (const command of pipe.commands) {
      for (const arg of command) {
        if (arg.type === "field") arg.path.forEach((name) => fields.add(name.toLowerCase()));
        if (arg.type === "paren") {
          visitPipe(arg.pipe);
          arg.path.forEach((name) => fields.add(name.toLowerCase()));
        }
      }
    }
  };
  const visit = (list: readonly Node[]) => {
    for (const node of list) {
      if (node.type === "print") visitPipe(node.pipe);
      if (node.type === "if" || node.type === "range" || node.type === "with") {
        visitPipe(node.pipe);
        visit(node.list);
        if (node.elseList) visit(node.elseList);
      }
    }
  };
  visit(nodes);
  return fields;
}
