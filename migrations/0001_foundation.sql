-- Foundation: per-guild settings and the audit log every feature appends to.

CREATE TABLE guild_settings (
    guild_id    INTEGER PRIMARY KEY,
    config      TEXT    NOT NULL,          -- JSON validated by config.guild.GuildConfig
    updated_at  INTEGER NOT NULL           -- Unix ms, UTC
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    actor_id    INTEGER,                   -- who acted (NULL: Steward itself)
    action      TEXT    NOT NULL,          -- e.g. hold.created, repost.published
    target_id   INTEGER,                   -- usually the member concerned
    details     TEXT    NOT NULL DEFAULT '{}',  -- JSON: ids and links, never message content
    created_at  INTEGER NOT NULL
);

CREATE INDEX audit_log_guild_time ON audit_log (guild_id, created_at);
CREATE INDEX audit_log_guild_target ON audit_log (guild_id, target_id, created_at);

-- Small per-process key/value state (e.g. the bot's last-seen message high-water marks).
CREATE TABLE bot_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
