-- A member leaves: their "Notify me when they reply" subscriptions are removed without reading
-- every subscription (the primary key starts with followup_id). Also serves `/privacy forget`.
-- (Query: FollowupRepository.unsubscribe_member in bot/db/followups.py.)
CREATE INDEX followup_subscribers_user ON followup_subscribers (user_id);
