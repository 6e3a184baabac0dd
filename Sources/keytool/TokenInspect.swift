import ArgumentParser
import Foundation
import JOSE

struct TokenInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a token's header and claims. NOT a verification.",
        discussion: """
            Decodes without checking the signature or the claims, so it also shows broken and forged
            tokens. Times are printed in UTC and relative to now. To check a token, use `token verify`.

            Example:
              keytool token inspect "$TOKEN"
              echo "$TOKEN" | keytool token inspect -
            """
    )

    @Argument(help: "The token, or - to read it from stdin.")
    var token: String

    func run() throws {
        let text = try FileOutput.token(token)
        let segments = text.split(separator: ".", omittingEmptySubsequences: false)
        print("NOT VERIFIED: this shows what the token claims, not whether it is genuine.")
        guard segments.count == 3 else {
            print("problem: a compact JWS has 3 segments; this has \(segments.count)")
            throw ExitCode(1)
        }
        let header = decode(segments[0], name: "header")
        let claims = decode(segments[1], name: "payload")
        let signature = try? Base64URL.decode(String(segments[2]))
        print("signature: \(signature.map { "\($0.count) bytes" } ?? "not canonical base64url")")
        if let claims = claims?.objectValue { printTimes(claims) }
        do {
            _ = try CompactJWS.parse(text)
        } catch {
            print("problem: \(error.code): \(error.reason)")
        }
        if header == nil || claims == nil { throw ExitCode(1) }
    }

    private func decode(_ segment: Substring, name: String) -> JSONValue? {
        do {
            let value = try JSONParser.parse(try Base64URL.decode(String(segment)))
            print("\(name):")
            print(JSONSerializer.serialize(value, pretty: true))
            return value
        } catch {
            print("\(name): cannot decode (\(error.reason))")
            return nil
        }
    }

    private func printTimes(_ claims: [String: JSONValue]) {
        let now = currentTime()
        for name in ["iat", "nbf", "exp"] {
            guard let seconds = claims[name]?.numberValue else { continue }
            print("\(name): \(TimeText.utc(seconds))  (\(TimeText.relative(name, seconds, now: now)))")
        }
    }
}

/// Human renderings of NumericDate values.
enum TimeText {
    static func utc(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e11 else { return "out of range" }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    /// "expires in 14m", "expired 3m ago", "issued 2h ago", "valid from in 5m".
    static func relative(_ claim: String, _ seconds: Double, now: Double) -> String {
        let delta = seconds - now
        let span = span(abs(delta))
        switch (claim, delta >= 0) {
        case ("exp", true): return "expires in \(span)"
        case ("exp", false): return "expired \(span) ago"
        case ("nbf", true): return "not valid for another \(span)"
        case ("nbf", false): return "valid since \(span) ago"
        case (_, true): return "issued \(span) in the future"
        default: return "issued \(span) ago"
        }
    }

    static func span(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds < 1e11 else { return "forever" }
        let whole = Int(seconds)
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m" + (whole % 60 == 0 ? "" : "\(whole % 60)s") }
        if whole < 86400 { return "\(whole / 3600)h" + (whole % 3600 / 60 == 0 ? "" : "\(whole % 3600 / 60)m") }
        return "\(whole / 86400)d" + (whole % 86400 / 3600 == 0 ? "" : "\(whole % 86400 / 3600)h")
    }
}
