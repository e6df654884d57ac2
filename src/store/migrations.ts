/**
 * Versioned schema migrations, applied in order at start and by `aixcl db migrate`. A migration
 * is never edited once released: changes go into a new one. Identifiers are lower-case, times are
 * timestamptz, secrets are stored only as hashes (hex text, the same on both engines).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "users, sessions, api keys, conversations, messages, audit log, settings",
    sql: `
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'user')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- A session row is found by the SHA-256 of the cookie's id; the id itself is never stored.
CREATE TABLE sessions (
  id_hash text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  address text,
  user_agent text
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Keys look like aixcl_<prefix>_<secret>: the prefix is shown in listings, the key is stored hashed.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  prefix text NOT NULL UNIQUE,
  key_hash text NOT NULL,
  scopes text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

CREATE TABLE conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL DEFAULT '',
  model text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user_updated ON conversations (user_id, updated_at DESC);

-- One row per message: appending a turn never rewrites the conversation.
CREATE TABLE messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  role text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content text NOT NULL,
  model text,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (conversation_id, seq)
);

-- No foreign key to users: the record of what a deleted user did must stay.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor_id uuid,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  address text,
  details jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);

CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: "chat: message tree, message status, per-chat settings, full-text search",
    sql: `
-- Messages form a tree (versions of an answer or an edited question are siblings). The parent is
-- in the same conversation (composite key), and the check is deferred to commit so a restore may
-- load rows in any order (src/backup/load.ts inserts them in primary-key order).
ALTER TABLE messages ADD CONSTRAINT messages_conversation_id_id_key UNIQUE (conversation_id, id);
ALTER TABLE messages ADD COLUMN parent_id uuid;
ALTER TABLE messages ADD COLUMN status text NOT NULL DEFAULT 'done'
  CHECK (status IN ('done', 'streaming', 'stopped', 'error'));
ALTER TABLE messages ADD COLUMN error jsonb;
ALTER TABLE messages ADD COLUMN tool_calls jsonb;
ALTER TABLE messages ADD COLUMN stats jsonb;

-- The linear history so far becomes a chain: each message's parent is the one before it by seq.
UPDATE messages m SET parent_id = p.id
  FROM messages p
 WHERE p.conversation_id = m.conversation_id
   AND p.seq = (SELECT max(q.seq) FROM messages q WHERE q.conversation_id = m.conversation_id AND q.seq < m.seq);
CREATE INDEX messages_parent ON messages (conversation_id, parent_id);
-- Added after the UPDATE: a deferred check queued by it would forbid the index builds below.
ALTER TABLE messages ADD CONSTRAINT messages_parent_fkey FOREIGN KEY (conversation_id, parent_id)
  REFERENCES messages (conversation_id, id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE conversations ADD COLUMN pinned boolean NOT NULL DEFAULT false;
ALTER TABLE conversations ADD COLUMN system text;
ALTER TABLE conversations ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Listing order (pinned first, then most recently active), walked by keyset pages.
DROP INDEX conversations_user_updated;
CREATE INDEX conversations_user_list ON conversations (user_id, pinned DESC, updated_at DESC, id DESC);

-- Search: the queries use these exact expressions (src/store/conversation-search.ts).
CREATE INDEX conversations_title_fts ON conversations USING gin (to_tsvector('simple', title));
CREATE INDEX messages_content_fts ON messages USING gin (to_tsvector('simple', content));
`,
  },
  {
    version: 3,
    name: "users: last login time",
    sql: `
-- Set at each successful login (src/server/routes/auth/index.ts); null until the next one.
ALTER TABLE users ADD COLUMN last_login_at timestamptz;
`,
  },
  {
    version: 4,
    name: "messages: a thinking model's reasoning",
    sql: `
-- Apart from content: the web chat shows it folded above the answer (docs/web-app.md, Messages),
-- and the search index (messages_content_fts) stays on the answers. Null for a model that does not think.
ALTER TABLE messages ADD COLUMN thinking text;
`,
  },
  {
    version: 5,
    name: "search indexes: no pending list",
    sql: `
-- A GIN index with fastupdate queues new entries in a pending list that every search then scans
-- linearly until VACUUM merges it, and PGlite runs no autovacuum: after 500,000 messages the list
-- held 248 pages and cost a search ~10 ms (bench/web.ts). Entries now go into the index as each
-- message is written (a message is a few dozen words); the list left behind is merged now.
ALTER INDEX messages_content_fts SET (fastupdate = off);
ALTER INDEX conversations_title_fts SET (fastupdate = off);
SELECT gin_clean_pending_list('messages_content_fts'::regclass), gin_clean_pending_list('conversations_title_fts'::regclass);
`,
  },
  {
    version: 6,
    name: "search: each user's messages only",
    sql: `
-- A message's owner beside it (a conversation never changes hands), so the search index can hold
-- it: the index on content alone returned every user's matches, each then read from the table to
-- learn its conversation, so a user's search for a common word read the matching messages of
-- every user of the server. The owner is a lexeme of its own in each message's vector, "~" and
-- the user id, which no text can produce ("~" never starts a word) and which the search ANDs with
-- the words (src/store/conversation-search.ts): the index yields the searcher's matches only.
ALTER TABLE messages ADD COLUMN user_id uuid;
UPDATE messages m SET user_id = c.user_id FROM conversations c WHERE c.id = m.conversation_id;
ALTER TABLE messages ALTER COLUMN user_id SET NOT NULL;
DROP INDEX messages_content_fts;
-- A cast, not array_to_tsvector: the index build also reads the rows' versions from before the
-- UPDATE (user_id null), for which the cast gives null where array_to_tsvector fails.
CREATE INDEX messages_search ON messages USING gin (
  (to_tsvector('simple', content) || ('~' || user_id::text)::tsvector)
) WITH (fastupdate = off);
`,
  },
  {
    version: 7,
    name: "search: the words of each conversation",
    sql: `
-- Search finds conversations, so it indexes conversations: one row per distinct word (as
-- to_tsvector('simple') makes it) of a conversation's title and messages. The list walks the
-- user's conversations in order and probes each by primary key when a word is common, or reads
-- the word's few conversations from conversation_terms_search when it is rare; the planner picks
-- from the word's statistics (src/store/conversation-search.ts). The GIN indexes it replaces
-- returned every matching message: a common word read ~95,000 rows for a 50-row page (50 ms), and
-- every non-HOT update of a message or conversation re-inserted all its words.
CREATE TABLE conversation_terms (
  conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  -- "C": byte order, so a prefix is one index range whatever the database's locale.
  term text COLLATE "C" NOT NULL,
  user_id uuid NOT NULL,
  PRIMARY KEY (conversation_id, term)
);
INSERT INTO conversation_terms (conversation_id, term, user_id)
  SELECT c.id, t.term, c.user_id
    FROM conversations c, unnest(tsvector_to_array(to_tsvector('simple', c.title))) AS t (term)
  UNION
  SELECT m.conversation_id, t.term, m.user_id
    FROM messages m, unnest(tsvector_to_array(to_tsvector('simple', m.content))) AS t (term);
CREATE INDEX conversation_terms_search ON conversation_terms (user_id, term, conversation_id);
DROP INDEX messages_search;
DROP INDEX conversations_title_fts;
ANALYZE conversation_terms;
`,
  },
];

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
