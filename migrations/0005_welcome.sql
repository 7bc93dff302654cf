-- Welcomes and support groups: the group directory, who was welcomed (once), joins waiting for
-- screening/onboarding or a burst batch, and which group suggestions were given (once each).
-- Only ids and times: no names, no message content.

CREATE TABLE welcome_groups (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL,              -- lower-cased name, unique per guild
    channel_id   INTEGER NOT NULL,              -- text channel or forum where the group meets
    description  TEXT    NOT NULL DEFAULT '',
    keywords     TEXT    NOT NULL DEFAULT '',   -- comma-separated, lower-case
    role_id      INTEGER,                       -- optional self-assigned role (checked safe)
    created_at   INTEGER NOT NULL,
    UNIQUE (guild_id, name_key)
);

CREATE INDEX welcome_groups_guild ON welcome_groups (guild_id, name_key);

-- One row per member ever welcomed (or found to be a rejoin): "no member is welcomed twice".
CREATE TABLE welcome_records (
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    welcomed_at  INTEGER NOT NULL,
    how          TEXT    NOT NULL,              -- single, burst, dm, resend
    channel_id   INTEGER,
    message_id   INTEGER,                       -- NULL when sending failed
    PRIMARY KEY (guild_id, member_id)
);

-- Joins not greeted yet: waiting for screening/onboarding (status 'screening', due = fallback
-- time) or for a burst batch (status 'ready', due = flush time). Deleted once greeted or left.
CREATE TABLE welcome_pending (
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    joined_at    INTEGER NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('screening', 'ready')),
    due_at       INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id)
);

CREATE INDEX welcome_pending_due ON welcome_pending (due_at);

-- Group suggestions given: at most once per member per group (purged after a year).
CREATE TABLE welcome_suggestions (
    guild_id     INTEGER NOT NULL,
    member_id    INTEGER NOT NULL,
    group_id     INTEGER NOT NULL REFERENCES welcome_groups (id) ON DELETE CASCADE,
    suggested_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, member_id, group_id)
);

CREATE INDEX welcome_suggestions_time ON welcome_suggestions (suggested_at);
