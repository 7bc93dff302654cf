-- The trusted role (issue 14): when each member passes the hold period Steward gives them
-- `linkhold.trusted_role`, which Steward's AutoMod rule exempts. One row per member Steward
-- saw join (or post) while the role was not theirs yet: the join date is what the startup
-- reconciliation reads in bounded batches, so no full member list is ever requested.
-- `due_at`: the scheduled promotion (NULL: waiting for posts, `min_posts`); `promoted_at`:
-- when the role was given. Only ids and times. Times are Unix milliseconds.
CREATE TABLE member_promotions (
    guild_id        INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    joined_at       INTEGER NOT NULL,
    due_at          INTEGER,
    promoted_at     INTEGER,
    PRIMARY KEY (guild_id, member_id)
);

CREATE INDEX member_promotions_waiting ON member_promotions (promoted_at, guild_id, member_id);
