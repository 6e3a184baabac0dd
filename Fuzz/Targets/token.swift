// Fuzz target `token`: bytes → CompactJWS.parse and JWTVerifier (HS256, RS256 and ES256 keys, an injected
// clock, a lenient and a strict claims validation).
//
// Two modes per input:
// - raw: the whole input is the compact token;
// - minted (first byte 0x01, 0x02 or 0x03): the rest is `header JSON 0x00 payload JSON` (or only the
//   payload, under the key's usual header), signed here with the HS256, RS256 or ES256 key, so the
//   verifier's claims checks run behind a signature that really holds.
//
// Invariants: parsing never traps; a parsed token re-serializes to its own bytes (canonical base64url,
// signing input exactly as received) and its JSON round-trips; a verified token's signature really is the
// key's (HMAC and RSA PKCS#1 v1.5 are deterministic: re-signing gives the same bytes), its alg is its key's
// alg, and its claims pass an independent re-implementation of the checks; a correctly signed token is
// refused only for its claims, and then exactly when the independent checks refuse them too.

import JOSE

/// RFC 7515 appendix A.1 (HS256) and A.2 (RS256): public test keys, so RFC tokens are seeds as they are.
private let hmacKey = makeKey(
    #"{"kty":"oct","alg":"HS256","kid":"hs-1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#
)
private let rsaKey = makeKey(
    #"{"kty":"RSA","alg":"RS256","kid":"rs-1","e":"AQAB","#
        + #""n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","#
        + #""d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ","#
        + #""p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc","#
        + #""q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc","#
        + #""dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0","#
        + #""dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU","#
        + #""qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"}"#
)
/// A P-256 key made for this target (test material only).
private let ecKey = makeKey(
    #"{"kty":"EC","alg":"ES256","kid":"es-1","crv":"P-256","d":"ecWkY8xeGs24F-eiTl8vXtvhgBahWcjHCmBuWj8g4p0","#
        + #""x":"PhrCP3xIvPyLnkZZMWa6SnjdnCjsHV2BOYbm-xheVVw","y":"TvtNU4wJbbJW-GPhzBS8iWOZ6umDYhzInTiCbJIQ_C8"}"#
)
private let keys = [hmacKey, rsaKey, ecKey]

/// The injected clock: shortly before the RFC 7515 example tokens expire (exp 1300819380).
private let now: Double = 1_300_819_000

private let verifiers = [
    JWTVerifier(keys: JWKSet(keys), validation: ClaimsValidation(leeway: 60)),
    JWTVerifier(
        keys: JWKSet(keys),
        validation: ClaimsValidation(
            issuers: ["joe", "https://idp.example.com"], audiences: ["api"], leeway: 30, maxLifetime: 3600,
            requiredClaims: ["sub"])),
]

private let claimCodes: Set<JOSEError.Code> = [
    .tokenExpired, .tokenNotYetValid, .issuedInFuture, .missingClaim, .invalidClaim, .badIssuer, .badAudience,
    .lifetimeTooLong,
]

private func makeKey(_ jwk: String) -> JWSKey {
    do {
        return try JWSKey(jwk: JSONParser.parse(jwk))
    } catch {
        fatalError("fuzz target key does not load: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    if let mode = input.first, (1...3).contains(mode) {
        checkMinted(Array(input.dropFirst()), key: keys[Int(mode) - 1])
    } else {
        checkToken(input, signedBy: nil)
    }
    return 0
}

/// Signs header and payload bytes with `key`, then checks the token like any other.
private func checkMinted(_ rest: [UInt8], key: JWSKey) {
    let header: [UInt8]
    let payload: [UInt8]
    if let separator = rest.firstIndex(of: 0) {
        header = Array(rest[..<separator])
        payload = Array(rest[(separator + 1)...])
    } else {
        header = Array(#"{"alg":"\#(key.algorithm.rawValue)","kid":"\#(key.keyID)","typ":"JWT"}"#.utf8)
        payload = rest
    }
    let token: String
    do {
        token = try JWTSigner.signRaw(header: header, payload: payload, key: key)
    } catch {
        invariant(false, "signing failed with a configured key: \(error.code)")
        return
    }
    checkToken(Array(token.utf8), signedBy: key)
}

/// Parses and verifies `token`; `signedBy` is the key that really signed it, when known.
private func checkToken(_ token: [UInt8], signedBy signer: JWSKey?) {
    let parsed: CompactJWS
    switch withBytes(token, { bytes throws(JOSEError) in try CompactJWS.parse(bytes) }) {
    case .success(let value):
        parsed = value
    case .failure(let error):
        // Both entry points refuse alike; the verifier refuses what the parser refuses.
        if let text = String(validating: token, as: UTF8.self) {
            switch Result(catching: { () throws(JOSEError) in try CompactJWS.parse(text) }) {
            case .success: invariant(false, "the String entry point accepted what the bytes entry point refused")
            case .failure(let other): invariant(other.code == error.code, "String and bytes parsing refuse differently")
            }
        }
        for verifier in verifiers {
            switch withBytes(token, { bytes throws(JOSEError) in try verifier.verify(bytes, now: now) }) {
            case .success: invariant(false, "the verifier accepted a token the parser refuses")
            case .failure(let other): invariant(other.code == error.code, "verifier and parser refuse differently")
            }
        }
        return
    }
    checkParsed(parsed, token: token)
    for (index, verifier) in verifiers.enumerated() {
        checkVerification(parsed, token: token, verifier: verifier, strict: index == 1, signer: signer)
    }
}

/// Re-serialization: the parsed token is exactly the bytes it came from.
private func checkParsed(_ jws: CompactJWS, token: [UInt8]) {
    let dots = token.indices.filter { token[$0] == UInt8(ascii: ".") }
    invariant(dots.count == 2, "a parsed token has \(dots.count) dots")
    invariant(Array(token[..<dots[1]]) == jws.signingInput, "the signing input is not the received bytes")
    invariant(!jws.signature.isEmpty, "a parsed token has an empty signature")
    invariant(
        Array(Base64URL.encode(jws.signature).utf8) == Array(token[(dots[1] + 1)...]),
        "the signature segment is not the canonical encoding of the decoded signature")
    for segment in [Array(token[..<dots[0]]), Array(token[(dots[0] + 1)..<dots[1]])] {
        guard let decoded = try? Base64URL.decode(segment) else {
            invariant(false, "a segment of a parsed token does not decode on its own")
            return
        }
        invariant(Array(Base64URL.encode(decoded).utf8) == segment, "a segment is not canonical base64url")
    }

    let header = jws.header
    invariant(header.fields["alg"] == .string(header.algorithm.rawValue), "header.algorithm is not the alg member")
    invariant(header.fields["kid"]?.stringValue == header.keyID, "header.keyID is not the kid member")
    invariant(header.fields["typ"]?.stringValue == header.type, "header.type is not the typ member")
    for name in ["jwk", "jku", "x5u", "x5c", "crit"] {
        invariant(header.fields[name] == nil, "a parsed header carries \(name)")
    }

    for object in [header.fields, jws.claims] {
        let text = JSONSerializer.bytes(.object(object))
        do {
            let again = try JSONParser.parseObject(text, maxDepth: JSONParser.depthCeiling)
            invariant(again == object, "a parsed JSON object does not survive serialize + parse")
        } catch {
            invariant(false, "the serializer wrote JSON its own parser refuses: \(error.code)")
        }
    }

    // The claims accessors run on peer-controlled values: they must not trap.
    let claims = JWTClaims(fields: jws.claims)
    _ = (claims.subject, claims.issuer, claims.audiences, claims.scopes, claims.expiresAt, claims.issuedAt)
    _ = claims.value(at: "realm_access.roles")
    _ = claims.value(at: "a..b")
    _ = claims.value(at: "")
}

private func checkVerification(
    _ jws: CompactJWS, token: [UInt8], verifier: JWTVerifier, strict: Bool, signer: JWSKey?
) {
    let outcome = Result { () throws(JOSEError) in try verifier.verify(parsed: jws, now: now) }
    let fromBytes = withBytes(token) { bytes throws(JOSEError) in try verifier.verify(bytes, now: now) }
    switch (outcome, fromBytes) {
    case (.success(let one), .success(let other)):
        invariant(one.keyID == other.keyID, "the two verify entry points chose different keys")
    case (.failure(let one), .failure(let other)):
        invariant(one.code == other.code, "the two verify entry points refuse with different codes")
    default:
        invariant(false, "the two verify entry points disagree")
    }

    // Whether the signature is genuinely the named key's, as far as the test knows it.
    let validlySigned: Bool
    if let signer {
        validlySigned = jws.header.algorithm == signer.algorithm && (jws.header.keyID ?? signer.keyID) == signer.keyID
    } else {
        validlySigned = false
    }
    let acceptable = claimsAcceptable(jws.claims, verifier.validation)

    switch outcome {
    case .success(let verified):
        guard let key = keys.first(where: { $0.keyID == verified.keyID }) else {
            invariant(false, "verified by a key that is not configured")
            return
        }
        invariant(key.algorithm == jws.header.algorithm, "verified with a key of another algorithm")
        invariant(jws.header.keyID == nil || jws.header.keyID == key.keyID, "verified with a key the kid does not name")
        switch key.algorithm.family {
        case .hmac, .rsa:
            // Deterministic schemes: the only valid signature is the one the key makes.
            let expected = try? key.sign(jws.signingInput)
            invariant(expected == jws.signature, "accepted a signature the key would not have made")
        default:
            invariant(jws.signature.count == 64, "accepted an ES256 signature of \(jws.signature.count) bytes")
        }
        if let signer { invariant(signer.keyID == key.keyID, "verified by another key than the signer") }
        invariant(acceptable, "accepted claims that the independent checks refuse (strict: \(strict))")
        invariant(verified.claims.fields == jws.claims, "the verified claims are not the parsed claims")
    case .failure(let error):
        if validlySigned {
            invariant(claimCodes.contains(error.code), "a correctly signed token was refused with \(error.code)")
            invariant(!acceptable, "a correctly signed token with acceptable claims was refused (\(error.code))")
        }
    }
}

/// Runs a typed-throwing body over the bytes of `token`.
private func withBytes<Value>(
    _ token: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JOSEError) -> Value
) -> Result<Value, JOSEError> {
    token.withUnsafeBytes { bytes in Result { () throws(JOSEError) in try body(bytes) } }
}

/// RFC 7519 section 4.1 checks written independently of ClaimsValidation: whether `claims` are acceptable.
private func claimsAcceptable(_ claims: [String: JSONValue], _ rules: ClaimsValidation) -> Bool {
    func time(_ name: String) -> Double?? {
        switch claims[name] {
        case nil: return .some(nil)
        case .int(let value)?: return (0...253_402_300_799).contains(value) ? .some(Double(value)) : nil
        case .double(let value)?: return value >= 0 && value <= 253_402_300_799 ? .some(value) : nil
        default: return nil
        }
    }
    guard let exp = time("exp"), let nbf = time("nbf"), let iat = time("iat") else { return false }
    if let exp {
        guard now < exp + rules.leeway else { return false }
    } else if rules.requireExpiration || rules.maxLifetime != nil {
        return false
    }
    if let nbf, !(nbf <= now + rules.leeway) { return false }
    if let iat, !(iat <= now + rules.leeway) { return false }
    if let maxLifetime = rules.maxLifetime, let exp, !(exp - (iat ?? now) <= maxLifetime) { return false }
    if !rules.issuers.isEmpty {
        guard case .string(let issuer)? = claims["iss"], rules.issuers.contains(issuer) else { return false }
    }
    if !rules.audiences.isEmpty {
        switch claims["aud"] {
        case .string(let audience)?:
            guard rules.audiences.contains(audience) else { return false }
        case .array(let elements)?:
            let names = elements.compactMap(\.stringValue)
            guard names.count == elements.count, names.contains(where: rules.audiences.contains) else { return false }
        default:
            return false
        }
    }
    for name in rules.requiredClaims {
        guard let value = claims[name], value != .null else { return false }
    }
    return true
}
