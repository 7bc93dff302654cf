-- Repost on behalf: which messages a repost consists of, for whom and by whom.
-- The posted messages hold the words; only ids, times and frame lengths are kept here.

CREATE TABLE reposts (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,          -- whose words these are
    moderator_id    INTEGER NOT NULL,          -- who reposted them
    destination_id  INTEGER NOT NULL,          -- channel, thread or forum asked for
    channel_id      INTEGER,                   -- where it landed (thread id for forum posts)
    created_thread  INTEGER NOT NULL DEFAULT 0,  -- 1: the repost created that thread
    mode            TEXT    NOT NULL,          -- webhook | bot
    webhook_id      INTEGER,                   -- the webhook that posted (webhook mode)
    source          TEXT    NOT NULL,          -- hold:<id> | message:<ch>/<msg> | manual
    idem_key        TEXT    NOT NULL,          -- hash of the request; never published twice
    status          TEXT    NOT NULL,          -- pending | published | deleted | failed
    head_len        INTEGER NOT NULL DEFAULT 0,  -- frame characters before the words (part 1)
    tail_len        INTEGER NOT NULL DEFAULT 0,  -- frame characters after them (last part)
    part_count      INTEGER NOT NULL DEFAULT 0,
    member_notified TEXT    NOT NULL DEFAULT 'none',  -- dm | channel | none
    created_at      INTEGER NOT NULL,
    published_at    INTEGER,
    edited_at       INTEGER,
    UNIQUE (guild_id, idem_key)
);

CREATE INDEX reposts_channel ON reposts (channel_id);
CREATE INDEX reposts_member ON reposts (guild_id, member_id);

CREATE TABLE repost_messages (
    repost_id   INTEGER NOT NULL REFERENCES reposts (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,              -- 0-based part number
    message_id  INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (repost_id, position)
);
