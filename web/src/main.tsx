import { render } from "preact";
import { App } from "./app";
import { applyInitialTheme } from "./theme";
import "./styles/base.css";
import "./styles/layout.css";
import "./styles/sidebar.css";
import "./styles/chat.css";
import "./styles/markdown.css";
import "./styles/forms.css";

applyInitialTheme();
const root = document.getElementById("app");
if (root) render(<App />, root);
