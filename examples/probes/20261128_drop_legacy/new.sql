-- App after 20261128_drop_legacy: always names a region, uses incident_updates instead of notes.
INSERT INTO checks (name, endpoint, interval_seconds, region) VALUES ('probe-new-' || gen_random_uuid(), 'https://new.example.com/health', 60, 'eu-west-1');
INSERT INTO incidents (title, severity) VALUES ('Probe: no legacy (new app)', 'minor');
INSERT INTO incident_updates (incident_id, body) SELECT max(id), 'Resolved.' FROM incidents;
SELECT id, region, interval_seconds FROM checks ORDER BY id DESC LIMIT 10;
