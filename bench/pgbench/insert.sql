\set v random(1, 1000000)
INSERT INTO acct (id, amount, note) VALUES (nextval('acct_ins'), :v, 'new ' || :v);
