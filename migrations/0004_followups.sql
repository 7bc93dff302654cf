-- Follow-ups that tag the original poster, and the persistent reminder queue behind them.
-- Only ids are kept. A reminder's note (typed by a moderator, may be personal) is nulled as
-- soon as the reminder is finished (sent, cancelled, stood down or failed).

CREATE TABLE followups (
    id                  INTEGER PRIMARY KEY,
    guild_id            INTEGER NOT NULL,
    channel_id          INTEGER NOT NULL,      -- thread or channel of the question and the tag
    in_thread           INTEGER NOT NULL,      -- 1: any OP message answers; 0: a reply must
    question_message_id INTEGER NOT NULL,
    op_id               INTEGER NOT NULL,
    asker_id            INTEGER NOT NULL,
    tag_message_id      INTEGER,               -- set once the tag is posted
    days                INTEGER NOT NULL,
    status              TEXT    NOT NULL DEFAULT 'open',  -- open | answered | closed
    reason              TEXT,                  -- why it closed (bot.domain.followups.CloseReason)
    answer_message_id   INTEGER,
    asked_at            INTEGER NOT NULL,
    closed_at           INTEGER
);

CREATE INDEX followups_open_channel ON followups (channel_id) WHERE status = 'open';
CREATE INDEX followups_guild_status ON followups (guild_id, status, asked_at);
CREATE UNIQUE INDEX followups_tag ON followups (tag_message_id);

CREATE TABLE followup_subscribers (
    followup_id INTEGER NOT NULL REFERENCES followups (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    notified_at INTEGER,
    PRIMARY KEY (followup_id, user_id)
);

-- A member's wishes, per server: no follow-up pings at all; answer notices by DM.
CREATE TABLE followup_prefs (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    pings      INTEGER NOT NULL DEFAULT 1,
    notify_dm  INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- The scheduler's queue. pending -> running (claimed) -> sending (the Discord call may be in
-- flight) -> sent | stood_down | cancelled | failed; transient errors go back to pending.
CREATE TABLE reminders (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,              -- checkin | remind | autocheck
    followup_id INTEGER REFERENCES followups (id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,
    member_id   INTEGER,                       -- who is tagged
    created_by  INTEGER,                       -- moderator (NULL: Steward itself)
    note        TEXT,                          -- NULL once finished
    due_at      INTEGER NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,    -- times a handler was started
    sends       INTEGER NOT NULL DEFAULT 0,    -- times a Discord send was started
    maybe_sent  INTEGER NOT NULL DEFAULT 0,    -- 1: look for our message before sending again
    sending_at  INTEGER,
    fired_at    INTEGER,
    message_id  INTEGER,
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The scheduler reads only the head of this index (MIN(due_at), then a batch).
CREATE INDEX reminders_pending_due ON reminders (due_at, id) WHERE status = 'pending';
CREATE INDEX reminders_guild_pending ON reminders (guild_id, due_at) WHERE status = 'pending';
CREATE INDEX reminders_followup ON reminders (followup_id) WHERE followup_id IS NOT NULL;
CREATE INDEX reminders_autocheck ON reminders (channel_id) WHERE kind = 'autocheck';
-- Start-up recovery touches only rows a crash left claimed or mid-send.
CREATE INDEX reminders_running ON reminders (id) WHERE status = 'running';
CREATE INDEX reminders_sending ON reminders (id) WHERE status = 'sending';
