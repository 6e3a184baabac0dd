import JOSE
import GatewayPolicy

/// One offline test of a policy: a request, the verified claims it carries (or none), and what must happen.
package struct PolicyTestCase: Sendable {
    /// What the decision must be. Unset fields are not checked.
    package struct Expectation: Sendable {
        /// 200 for allow, else the denial's status.
        package var status: Int
        package var route: String?
        package var reason: String?
        /// The exact set of identity headers (names case-insensitive, values exact); `[:]` means none.
        package var headers: [String: String]?
    }

    package let name: String
    package let location: SourceLocation
    package let method: String
    /// The raw request target; it is canonicalized as the gateway would (a bad one is a 400).
    package let target: String
    package let host: String?
    /// What the request carries.
    package let credential: Credential
    package let expect: Expectation

    /// The token side of a case.
    package enum Credential: Sendable {
        /// No token.
        case none
        /// A token that verified with these claims.
        case claims([String: JSONValue])
        /// A compact JWT, verified as the gateway would, with these keys, at time `now`.
        case token(String, verifier: JWTVerifier, now: Double)

        /// The credential as the gateway's token check would find it: no token, verified claims, or the
        /// verifier's error.
        package func check() -> Result<[String: JSONValue]?, JOSEError> {
            switch self {
            case .none:
                return .success(nil)
            case .claims(let claims):
                return .success(claims)
            case .token(let token, let verifier, let now):
                do throws(JOSEError) {
                    return .success(try verifier.verify(token, now: now).claims.fields)
                } catch {
                    return .failure(error)
                }
            }
        }
    }
}
