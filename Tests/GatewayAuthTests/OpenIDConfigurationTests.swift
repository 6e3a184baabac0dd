import JOSE
import Testing

@testable import GatewayAuth

/// The checks on a provider's OpenID configuration document, without a network.
@Suite("OpenID configuration document")
struct OpenIDConfigurationTests {
    static let issuer = "https://login.example.com/realms/acme"
    static let url = "https://login.example.com/realms/acme/.well-known/openid-configuration"

    static func validate(_ json: String, allowInsecure: Bool = false) -> Result<OpenIDConfiguration, OpenIDConfiguration.Refusal> {
        OpenIDConfiguration.validate(Array(json.utf8), issuer: issuer, documentURL: url, allowInsecure: allowInsecure)
    }

    static func refusal(_ json: String, allowInsecure: Bool = false) -> OpenIDConfiguration.Refusal? {
        if case .failure(let refusal) = validate(json, allowInsecure: allowInsecure) { return refusal }
        return nil
    }

    @Test func takesTheJWKSURIAndTheVerifiableAlgorithms() throws {
        let document = try Self.validate("""
            {"issuer":"\(Self.issuer)","jwks_uri":"https://login.example.com/realms/acme/certs",
             "id_token_signing_alg_values_supported":["RS256","none","ES256","RS256K","PS512"],
             "authorization_endpoint":"https://login.example.com/auth"}
            """).get()
        #expect(document.jwksURL == "https://login.example.com/realms/acme/certs")
        #expect(document.algorithms == [.RS256, .ES256, .PS512], "`none` and unknown names are dropped")
        let unadvertised = try Self.validate(#"{"issuer":"\#(Self.issuer)","jwks_uri":"https://idp/keys"}"#).get()
        #expect(unadvertised.algorithms == nil)
    }

    @Test(arguments: [
        "https://login.example.com/realms/acme/",  // a trailing slash is another issuer
        "https://LOGIN.example.com/realms/acme",  // no case folding
        "https://login.example.com/realms/acme2",
        "http://login.example.com/realms/acme",
    ])
    func theIssuerMustBeEqualExactly(_ advertised: String) {
        let refusal = Self.refusal(#"{"issuer":"\#(advertised)","jwks_uri":"https://idp/keys"}"#)
        #expect(refusal?.code == .issuerMismatch)
        #expect(refusal?.reason.contains("`\(advertised)`") == true && refusal?.reason.contains(Self.issuer) == true)
    }

    @Test func aMissingOrNonStringIssuerIsAMismatch() {
        #expect(Self.refusal(#"{"jwks_uri":"https://idp/keys"}"#)?.code == .issuerMismatch)
        #expect(Self.refusal(#"{"issuer":["\#(Self.issuer)"],"jwks_uri":"https://idp/keys"}"#)?.code == .issuerMismatch)
        #expect(Self.refusal("{}")?.code == .issuerMismatch)
    }

    @Test func aKeySetWhereTheDocumentBelongsSaysSo() {
        let jwks = Self.refusal(#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#)
        #expect(jwks?.code == .keySet)
        #expect(jwks?.reason.contains("serves a JWK or JWKS") == true && jwks?.reason.contains("jwks_url: \(Self.url)") == true)
        #expect(Self.refusal(#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#)?.code == .keySet)
    }

    @Test func theJWKSURIMustBeHTTPSUnlessInsecure() throws {
        let plain = #"{"issuer":"\#(Self.issuer)","jwks_uri":"http://idp/keys"}"#
        #expect(Self.refusal(plain)?.code == .badJWKSURI)
        #expect(try Self.validate(plain, allowInsecure: true).get().jwksURL == "http://idp/keys")
        #expect(Self.refusal(#"{"issuer":"\#(Self.issuer)","jwks_uri":"/keys"}"#)?.code == .badJWKSURI)
        #expect(Self.refusal(#"{"issuer":"\#(Self.issuer)","jwks_uri":7}"#)?.code == .missingJWKSURI)
        #expect(Self.refusal(#"{"issuer":"\#(Self.issuer)"}"#)?.code == .missingJWKSURI)
    }

    @Test(arguments: [#"["none"]"#, #"["HS999","none"]"#, "[]", #""RS256""#, #"["RS256",1]"#])
    func algorithmListsThatAllowNothingAreRefused(_ list: String) {
        let refusal = Self.refusal(
            #"{"issuer":"\#(Self.issuer)","jwks_uri":"https://idp/keys","id_token_signing_alg_values_supported":\#(list)}"#)
        #expect(refusal?.code == .badAlgorithms)
    }

    @Test(arguments: ["", "not json", "[1,2]", #""string""#, #"{"issuer":"a","issuer":"b"}"#])
    func notAnObjectIsRefused(_ text: String) {
        #expect(Self.refusal(text)?.code == .notJSON)
    }
}
