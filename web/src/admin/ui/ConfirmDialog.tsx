import { useEffect, useRef, useState } from "preact/hooks";

interface Question {
  title: string;
  body: string;
  confirm: string;
  onConfirm: () => void;
}

/**
 * A modal confirmation (a native <dialog>: focus stays inside, Esc cancels) for destructive
 * actions. `ask()` opens it; render `dialog` once in the page.
 */
export function useConfirm() {
  const [question, setQuestion] = useState<Question | null>(null);
  const ref = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (question && !dialog.open) dialog.showModal();
    if (!question && dialog.open) dialog.close();
  }, [question]);

  const answer = (yes: boolean) => {
    const current = question;
    setQuestion(null);
    if (yes) current?.onConfirm();
  };

  const dialog = (
    <dialog
      ref={ref}
      class="confirm-dialog"
      data-testid="confirm-dialog"
      aria-labelledby="confirm-title"
      onCancel={(e) => {
        e.preventDefault();
        answer(false);
      }}
    >
      {question && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            answer(true);
          }}
        >
          <h2 id="confirm-title" class="confirm-title">
            {question.title}
          </h2>
          <p class="confirm-body">{question.body}</p>
          <div class="confirm-actions">
            <button type="button" class="button" data-testid="confirm-cancel" onClick={() => answer(false)}>
              Cancel
            </button>
            <button type="submit" class="button button-danger" data-testid="confirm-ok">
              {question.confirm}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
  return { ask: (q: Question) => setQuestion(q), dialog };
}
