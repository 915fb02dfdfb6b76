-- App after 20261125_unique_check_names: looks checks up by name and ignores duplicate creations.
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-new-' || gen_random_uuid(), 'https://new.example.com/health', 60)
  ON CONFLICT DO NOTHING;
SELECT id, endpoint FROM checks WHERE name = 'check-1';
