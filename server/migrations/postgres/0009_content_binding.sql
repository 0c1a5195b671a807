-- Each chunked content's chunk list bound to its file signature under the owner's key (keyed
-- BLAKE3, hex): a download that checks it and authenticates every chunk needs no second pass
-- over the bytes. NULL for contents committed before it existed (those are checked whole).
ALTER TABLE contents ADD COLUMN binding TEXT;
