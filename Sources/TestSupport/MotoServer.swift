import Foundation

/// A real S3-protocol server for tests: moto's server (from `.venv-test`, made by
/// `scripts/ensure-test-tools.sh`), with authentication on, so every request's AWS Signature V4
/// is checked. An IAM user with an access key and a bucket are created for the test.
public final class MotoServer: Sendable {
    public let endpoint: String
    public let bucket = "samia-test"
    public let region = "us-east-1"
    public let accessKeyID: String
    public let secretAccessKey: String
    private let process: RunningProcess

    /// The environment that points samia-batch at this bucket.
    public var environment: [String: String] {
        [
            "SAMIA_S3_ENDPOINT": endpoint, "SAMIA_S3_BUCKET": bucket, "SAMIA_S3_REGION": region,
            "SAMIA_S3_ACCESS_KEY_ID": accessKeyID, "SAMIA_S3_SECRET_ACCESS_KEY": secretAccessKey,
        ]
    }

    /// With `checkSignatures` (the default) every request after the setup must be signed by
    /// the test user. moto itself cannot check a signed listing whose prefix holds a `/` (it
    /// signs the decoded query; boto3's own such listing fails against it too), so tests of
    /// listings run with it off and the listing's signature is compared with botocore's instead.
    public init(checkSignatures: Bool = true) throws {
        let venv = TestCluster.repositoryRoot.appendingPathComponent(".venv-test/bin").path
        guard FileManager.default.isExecutableFile(atPath: venv + "/moto_server") else {
            throw TestSupportError.toolFailed("moto_server missing: run scripts/ensure-test-tools.sh (make test does)")
        }
        let port = Int.random(in: 20_000...40_000)
        endpoint = "http://127.0.0.1:\(port)"
        // The first requests are free (to create the user and its key); every later one is checked.
        var env = ProcessInfo.processInfo.environment
        if checkSignatures { env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4" }
        process = try Shell.start(venv + "/moto_server", ["-H", "127.0.0.1", "-p", String(port)], environment: env)
        let setup = """
            import json, sys, time, urllib.request
            endpoint = sys.argv[1]
            # Its start (Python importing moto) took more than 10 s on a busy 2-core machine.
            for _ in range(600):
                try:
                    urllib.request.urlopen(endpoint + "/moto-api/", timeout=1); break
                except Exception:
                    time.sleep(0.1)
            import boto3
            kw = dict(endpoint_url=endpoint, region_name="us-east-1")
            iam = boto3.client("iam", aws_access_key_id="setup", aws_secret_access_key="setup", **kw)
            iam.create_user(UserName="samia")
            iam.put_user_policy(UserName="samia", PolicyName="s3", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="samia")["AccessKey"]
            s3 = boto3.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kw)
            s3.create_bucket(Bucket="samia-test")
            print(key["AccessKeyId"], key["SecretAccessKey"])
            """
        let r = try Shell.run(venv + "/python3", ["-c", setup, endpoint])
        let parts = r.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        guard r.status == 0, parts.count == 2 else {
            process.signal(SIGKILL)
            _ = process.wait()
            throw TestSupportError.toolFailed("moto setup: \(r.stderr)")
        }
        accessKeyID = parts[0]
        secretAccessKey = parts[1]
    }

    /// Writes an object with boto3 (an independent client), for fixtures.
    public func put(_ key: String, _ body: String) throws {
        try boto("s3.put_object(Bucket='samia-test', Key=sys.argv[4], Body=sys.argv[5].encode())", key, body)
    }

    /// The bucket's keys, listed with boto3.
    public func keys() throws -> [String] {
        let out = try boto(
            "print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket='samia-test').get('Contents', [])))")
        return out.split(separator: "\n").map(String.init).sorted()
    }

    @discardableResult
    private func boto(_ statement: String, _ arguments: String...) throws -> String {
        let venv = TestCluster.repositoryRoot.appendingPathComponent(".venv-test/bin").path
        let script = """
            import sys, boto3
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            \(statement)
            """
        let r = try Shell.run(venv + "/python3", ["-c", script, endpoint, accessKeyID, secretAccessKey] + arguments)
        guard r.status == 0 else { throw TestSupportError.toolFailed("boto3: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server; call when the test is done.
    public func stop() {
        // The development server behind moto_server does not stop on SIGTERM.
        process.signal(SIGKILL)
        _ = process.wait()
    }
}
