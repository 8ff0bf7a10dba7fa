import Foundation
import Postgres
import TestSupport
import Testing

/// Issue 37, point 4: where the database has Supabase's `storage` schema, its tables are
/// audited like the API's (the Storage API queries `storage.objects` as the caller's role), and
/// the shipped matrix's storage declarations hold: everything private.
extension ParityTests {
    /// A storage schema shaped like Supabase's, with two buckets and three objects.
    func createStorage() throws {
        _ = try psql(
            """
            CREATE SCHEMA storage;
            CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean DEFAULT false);
            CREATE TABLE storage.objects (
              id uuid PRIMARY KEY DEFAULT gen_random_uuid(), bucket_id text REFERENCES storage.buckets (id),
              name text NOT NULL, owner_id text, metadata jsonb, created_at timestamptz DEFAULT now());
            CREATE TABLE storage.migrations (id integer PRIMARY KEY, name text NOT NULL);
            ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
            ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
            ALTER TABLE storage.migrations ENABLE ROW LEVEL SECURITY;
            GRANT USAGE ON SCHEMA storage TO anon, authenticated;
            GRANT ALL ON storage.buckets, storage.objects TO anon, authenticated;
            INSERT INTO storage.buckets VALUES ('invoices', 'invoices', false), ('avatars', 'avatars', true);
            INSERT INTO storage.objects (bucket_id, name, owner_id) VALUES
              ('invoices', 'invoices/2026/11/INV-1.pdf', NULL),
              ('avatars', '\(Self.client1)/a.png', '\(Self.client1)'),
              ('avatars', '\(Self.client2)/b.png', '\(Self.client2)');
            """)
    }

    @Test func storageObjectsAreAuditedWhereTheSchemaExists() throws {
        try createStorage()
        let clean = try parity()
        #expect(clean.status == 0, "the shipped matrix declares storage private: \(clean.stdout)\(clean.stderr)")
        var r = try report()
        #expect((r["header"] as! [String: Any])["schemas"] as? [String] == ["public", "storage"])
        #expect(cell(r, "client", "storage.objects", "select")["verdict"] as? String == "pass")
        #expect(cell(r, "anon", "storage.objects", "insert")["verdict"] as? String == "pass")

        // A public-read policy and an upload policy that forgets the owner: both are holes
        // against a private declaration, and against an own-folder one.
        _ = try psql(
            """
            CREATE POLICY avatars_read ON storage.objects FOR SELECT TO anon, authenticated USING (bucket_id = 'avatars');
            CREATE POLICY avatars_upload ON storage.objects FOR INSERT TO authenticated WITH CHECK (bucket_id = 'avatars');
            """)
        #expect(try parity().status == 1)
        r = try report()
        let read = cell(r, "anon", "storage.objects", "select")
        #expect(read["verdict"] as? String == "fail", "\(read)")
        #expect((read["probe"] as! [String: Any])["excess"] as? Int == 2, "anon sees both avatars")

        let own = try matrixVariant(
            "  storage.objects: \"private storage (invoice PDFs, DSR exports, media): signed URLs from the service role only\"\n",
            "")
        let ownText = try String(contentsOfFile: own["SAMIA_ACCESS_MATRIX"]!, encoding: .utf8)
            .replacingOccurrences(
                of: "\ntables:\n",
                with: """

                    tables:
                      storage.objects:
                        scopes:
                          avatars: "t.bucket_id = 'avatars'"
                          own-avatar: "t.bucket_id = 'avatars' AND t.owner_id = (:uid)::text"
                        anon: { select: avatars }
                        client: { select: avatars, insert: own-avatar }
                        reader: { select: avatars }
                        monitor: { select: avatars }
                        admin: { select: avatars }
                        superadmin: { select: avatars }

                    """)
        try ownText.write(toFile: own["SAMIA_ACCESS_MATRIX"]!, atomically: true, encoding: .utf8)
        let run = try CLI.run(["parity", "--out", dir + "/report"], database: config, env: own)
        r = try report()
        #expect(cell(r, "anon", "storage.objects", "select")["verdict"] as? String == "pass", "reads as declared")
        let upload = cell(r, "client", "storage.objects", "insert")
        #expect(upload["verdict"] as? String == "fail", "an upload into another user's name is accepted: \(upload)")
        #expect((upload["reason"] as? String ?? "").contains("owner_id"), "the trial that got through is named")
        #expect(run.status == 1)
    }
}
