-- Setup, doctor and privacy.

-- What the running bot's doctor last found, per guild (read by `steward doctor --guild ID`).
-- Findings carry setting names, ids and fixed wording; never member content.
CREATE TABLE doctor_findings (
    guild_id    INTEGER NOT NULL,
    code        TEXT    NOT NULL,          -- e.g. channel.permission, role.deleted
    subject     TEXT    NOT NULL,          -- what it is about (setting name, id)
    severity    TEXT    NOT NULL,          -- problem | warning
    message     TEXT    NOT NULL,
    fix         TEXT    NOT NULL,
    first_seen  INTEGER NOT NULL,          -- Unix ms, UTC
    last_seen   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, code, subject)
);

-- One row per guild: when the doctor last ran and what it last told the mod log, so the same
-- problems are reported once and again only when they change.
CREATE TABLE doctor_runs (
    guild_id              INTEGER PRIMARY KEY,
    checked_at            INTEGER NOT NULL,
    fingerprint           TEXT    NOT NULL,
    reported_fingerprint  TEXT,
    reported_at           INTEGER
);

-- Opt-outs that outlive a forget request: only a keyed HMAC of the user id is kept (the key is
-- generated per installation and stored outside the database, next to it).
CREATE TABLE privacy_opt_outs (
    guild_id    INTEGER NOT NULL,
    scope       TEXT    NOT NULL,          -- e.g. followups, welcome.dm
    user_hmac   TEXT    NOT NULL,          -- hex HMAC-SHA256(key, "guild:user")
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, scope, user_hmac)
);
