-- App before 20261128_drop_legacy: still writes legacy_priority and legacy notes, relies on the region default.
-- After contract this probe fails by design (the objects it uses are gone).
INSERT INTO incidents (title, severity, legacy_priority) VALUES ('Probe: legacy (old app)', 'minor', 3);
INSERT INTO incident_notes_legacy (incident_id, note) SELECT max(id), 'Probe note' FROM incidents;
INSERT INTO checks (name, endpoint, interval_seconds) VALUES ('probe-old-' || gen_random_uuid(), 'https://old.example.com/health', 300);
SELECT n.note, i.legacy_priority FROM incident_notes_legacy n JOIN incidents i ON i.id = n.incident_id ORDER BY n.id DESC LIMIT 10;
