/**
 * The words a conversation can be found by (table conversation_terms, migration 7): each distinct
 * lexeme of its title and of its messages' final text, as to_tsvector('simple') makes it. Writes
 * add words in the statement that stores the text (a data-modifying WITH clause, so no extra round
 * trip): a new conversation its title's, a stored message its content's, an answer its text's
 * once it ends (a streaming answer's text is not final). A rename drops the words only the old
 * title had. Read by src/store/conversation-search.ts.
 */

/**
 * An INSERT adding the words of `text` for each row of `from`: SQL for a WITH clause. The
 * arguments are SQL expressions over `from` (column names, never values).
 */
export function addTermsSql(
  from: string,
  columns: { conversation: string; user: string; text: string },
): string {
  return `INSERT INTO conversation_terms (conversation_id, term, user_id)
      SELECT ${columns.conversation}, w.term, ${columns.user}
        FROM ${from}, unnest(tsvector_to_array(to_tsvector('simple', ${columns.text}))) AS w (term)
      ON CONFLICT DO NOTHING`;
}

/**
 * WITH clauses (no leading WITH) for a conversation renamed by the UPDATE in clause `renamed`
 * (returning `id`, `user_id` and the new `title`): the new title's words are added, and the
 * words that neither the new title nor any message has are dropped.
 */
export function retitleTermsSql(renamed: string): string {
  const title = `tsvector_to_array(to_tsvector('simple', r.title))`;
  return `retitle_add AS (${addTermsSql(`${renamed} r`, { conversation: "r.id", user: "r.user_id", text: "r.title" })}),
    retitle_kept AS (
      SELECT w.term FROM ${renamed} r JOIN messages m ON m.conversation_id = r.id,
             unnest(tsvector_to_array(to_tsvector('simple', m.content))) AS w (term)),
    retitle_drop AS (
      DELETE FROM conversation_terms t USING ${renamed} r
       WHERE t.conversation_id = r.id AND t.term <> ALL (${title})
         AND t.term NOT IN (SELECT term FROM retitle_kept))`;
}
