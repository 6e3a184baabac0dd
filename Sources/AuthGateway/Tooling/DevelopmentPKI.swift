import Foundation
import JOSE
import SwiftASN1
import X509

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A development certificate authority and one server certificate it issued, so that the demo runs with
/// real TLS verification (`curl --cacert ca.pem`) instead of `curl -k`.
///
/// The directory holds `ca.pem` and `ca.key` (a self-signed P-256 CA, valid ten years, allowed to issue end
/// entity certificates only) and `server.pem` and `server.key` (the leaf alone: clients trust the CA directly,
/// so sending it would only lengthen the handshake). Keys are PKCS#8 PEM, mode 0600.
///
/// Files are reused across runs, so a CA someone has already trusted stays valid. The server certificate is
/// reissued when it no longer fits: a new CA, different names, expiry within a week, or a key that does not
/// match. A CA with only one of its two files is recreated; one that exists but cannot be read is an error,
/// because replacing it silently would break every client that trusts it.
package enum DevelopmentPKI {
    /// Paths of the files a client and the gateway need.
    package struct Files: Sendable, Hashable {
        /// The CA certificate, for clients: `curl --cacert`, Python's `cafile=`.
        package var caCertificate: String
        /// The server certificate, for the gateway listener's `certificateChainFile`.
        package var serverCertificateChain: String
        /// The server's private key, for the gateway listener's `privateKeyFile`.
        package var serverPrivateKey: String

        package init(caCertificate: String, serverCertificateChain: String, serverPrivateKey: String) {
            self.caCertificate = caCertificate
            self.serverCertificateChain = serverCertificateChain
            self.serverPrivateKey = serverPrivateKey
        }
    }

    static let caLifetime: TimeInterval = 3650 * 86_400
    static let serverLifetime: TimeInterval = 365 * 86_400
    /// Backdating absorbs clock skew between this machine and a container or VM running the client.
    static let backdating: TimeInterval = 3600
    /// A server certificate this close to expiry is reissued rather than left to fail mid-demo.
    static let renewalMargin: TimeInterval = 7 * 86_400

    /// Makes sure `directory` holds a development CA and a server certificate for `hostnames` and
    /// `ipAddresses`, creating only what is missing or no longer usable, and returns the paths.
    package static func ensure(
        in directory: String,
        hostnames: [String] = ["localhost"],
        ipAddresses: [String] = ["127.0.0.1", "::1"]
    ) throws -> Files {
        do {
            return try ensure(in: directory, hostnames: hostnames, ipAddresses: ipAddresses, now: Date())
        } catch let error as DevelopmentPKIError {
            throw error
        } catch {
            throw DevelopmentPKIError(.cryptoFailure, "cannot create the development certificates: \(error)")
        }
    }

    /// ``ensure(in:hostnames:ipAddresses:)`` at an injected time.
    static func ensure(in directory: String, hostnames: [String], ipAddresses: [String], now: Date) throws -> Files {
        let names = try subjectAlternativeNames(hostnames: hostnames, ipAddresses: ipAddresses)
        try createDirectory(directory)
        let paths = Paths(directory: directory)
        // Two processes starting the demo at once must not each write half of a CA.
        return try withLock(directory + "/.lock") {
            let (ca, caKey, caIsNew) = try ensureCA(paths, now: now)
            if caIsNew || !serverIsUsable(paths, ca: ca, names: names, now: now) {
                try issueServer(paths, ca: ca, caKey: caKey, names: names, now: now)
            }
            try restrictMode(paths.caKey)
            try restrictMode(paths.serverKey)
            return Files(caCertificate: paths.caCertificate, serverCertificateChain: paths.serverCertificate,
                         serverPrivateKey: paths.serverKey)
        }
    }

    struct Paths {
        let caCertificate: String
        let caKey: String
        let serverCertificate: String
        let serverKey: String

        init(directory: String) {
            caCertificate = directory + "/ca.pem"
            caKey = directory + "/ca.key"
            serverCertificate = directory + "/server.pem"
            serverKey = directory + "/server.key"
        }
    }

    // MARK: - Certificate authority

    private static func ensureCA(_ paths: Paths, now: Date) throws -> (Certificate, Certificate.PrivateKey, Bool) {
        let files = FileManager.default
        if files.fileExists(atPath: paths.caCertificate), files.fileExists(atPath: paths.caKey) {
            let certificate: Certificate
            let key: Certificate.PrivateKey
            do {
                certificate = try Certificate(pemEncoded: try readText(paths.caCertificate))
                key = try Certificate.PrivateKey(pemEncoded: try readText(paths.caKey))
            } catch {
                throw DevelopmentPKIError(.unusableCA, "\(paths.caCertificate) and \(paths.caKey) are not a readable "
                    + "PEM certificate and key (\(error)); delete both to create a new development CA")
            }
            guard key.publicKey == certificate.publicKey else {
                throw DevelopmentPKIError(.unusableCA, "\(paths.caKey) is not the key of \(paths.caCertificate); "
                    + "delete both to create a new development CA")
            }
            if certificate.notValidAfter > now + renewalMargin {
                return (certificate, key, false)
            }
        }
        let key = try generateKey()
        let name = try DistinguishedName {
            OrganizationName("auth-gateway development")
            CommonName("auth-gateway development CA")
        }
        let extensions = try Certificate.Extensions {
            // Path length 0: the CA can sign servers, never another CA.
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            SubjectKeyIdentifier(hash: key.publicKey)
        }
        let certificate = try sign(
            publicKey: key.publicKey, subject: name, issuer: name, extensions: extensions,
            notValidBefore: now - backdating, notValidAfter: now + caLifetime, issuerKey: key)
        try writeFile(paths.caKey, try pem(of: key), mode: 0o600)
        try writeFile(paths.caCertificate, try certificate.serializeAsPEM().pemString + "\n", mode: 0o644)
        return (certificate, key, true)
    }

    // MARK: - Server certificate

    private static func serverIsUsable(_ paths: Paths, ca: Certificate, names: [GeneralName], now: Date) -> Bool {
        guard let certificate = try? Certificate(pemEncoded: readText(paths.serverCertificate)),
            let key = try? Certificate.PrivateKey(pemEncoded: readText(paths.serverKey)),
            let alternativeNames = try? certificate.extensions.subjectAlternativeNames
        else { return false }
        return key.publicKey == certificate.publicKey
            && certificate.issuer == ca.subject
            && ca.publicKey.isValidSignature(certificate.signature, for: certificate)
            && certificate.notValidBefore <= now
            && certificate.notValidAfter > now + renewalMargin
            && Set(alternativeNames) == Set(names)
    }

    private static func issueServer(
        _ paths: Paths, ca: Certificate, caKey: Certificate.PrivateKey, names: [GeneralName], now: Date
    ) throws {
        let key = try generateKey()
        let commonName: String
        switch names.first {
        case .dnsName(let name): commonName = name
        default: commonName = "auth-gateway development server"
        }
        let subject = try DistinguishedName {
            OrganizationName("auth-gateway development")
            CommonName(commonName)
        }
        let authorityKeyID = try ca.extensions.subjectKeyIdentifier?.keyIdentifier
            ?? SubjectKeyIdentifier(hash: ca.publicKey).keyIdentifier
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
            SubjectKeyIdentifier(hash: key.publicKey)
            // Python 3.13's default VERIFY_X509_STRICT rejects a leaf without an authority key identifier.
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
        }
        let certificate = try sign(
            publicKey: key.publicKey, subject: subject, issuer: ca.subject, extensions: extensions,
            notValidBefore: now - backdating, notValidAfter: min(now + serverLifetime, ca.notValidAfter),
            issuerKey: caKey)
        try writeFile(paths.serverKey, try pem(of: key), mode: 0o600)
        try writeFile(paths.serverCertificate, try certificate.serializeAsPEM().pemString + "\n", mode: 0o644)
    }

    /// DNS names first (lowercased), then IP addresses; fails on anything a certificate cannot carry.
    static func subjectAlternativeNames(hostnames: [String], ipAddresses: [String]) throws -> [GeneralName] {
        guard !hostnames.isEmpty || !ipAddresses.isEmpty else {
            throw DevelopmentPKIError(.invalidName, "a server certificate needs at least one hostname or IP address")
        }
        var names: [GeneralName] = []
        for hostname in hostnames {
            let allowed = hostname.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "*")
            }
            guard !hostname.isEmpty, hostname.utf8.count <= 253, allowed else {
                throw DevelopmentPKIError(.invalidName, "\"\(hostname)\" is not an ASCII DNS name")
            }
            names.append(.dnsName(hostname.lowercased()))
        }
        for address in ipAddresses {
            guard let bytes = ipAddressBytes(address) else {
                throw DevelopmentPKIError(.invalidName, "\"\(address)\" is not an IPv4 or IPv6 address")
            }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        return names
    }

    /// The 4 or 16 network-order bytes of a textual IP address, or `nil`.
    private static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    // MARK: - Crypto

    /// A fresh P-256 key, generated by the project's JOSE library (OpenSSL) and read back through PKCS#8.
    private static func generateKey() throws -> Certificate.PrivateKey {
        try Certificate.PrivateKey(pemEncoded: try JWSKey.generate(algorithm: .ES256).privateKeyPEM())
    }

    private static func pem(of key: Certificate.PrivateKey) throws -> String {
        try key.serializeAsPEM().pemString + "\n"
    }

    private static func sign(
        publicKey: Certificate.PublicKey, subject: DistinguishedName, issuer: DistinguishedName,
        extensions: Certificate.Extensions, notValidBefore: Date, notValidAfter: Date, issuerKey: Certificate.PrivateKey
    ) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: notValidBefore, notValidAfter: notValidAfter, issuer: issuer, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: issuerKey)
    }

    // MARK: - Files

    private static func createDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DevelopmentPKIError(.io, "cannot create \(directory): \(error)")
        }
    }

    private static func readText(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DevelopmentPKIError(.io, "cannot read \(path): \(error)")
        }
    }

    /// Writes through a temporary file created with `mode` (a key is never readable by others, not even
    /// briefly) and renames it into place, so a crash leaves the old file or the new one, never half of one.
    private static func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DevelopmentPKIError(.io, "cannot create \(temporary): \(errnoText())") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                let reason = errnoText()
                close(fd)
                unlink(temporary)
                throw DevelopmentPKIError(.io, "cannot write \(temporary): \(reason)")
            }
            written += result
        }
        // The umask can only have removed bits; make the mode exact.
        fchmod(fd, mode)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw DevelopmentPKIError(.io, "cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    /// Takes a key file that someone made group- or world-readable back to 0600.
    private static func restrictMode(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { throw DevelopmentPKIError(.io, "cannot stat \(path): \(errnoText())") }
        if status.st_mode & 0o077 != 0, chmod(path, 0o600) != 0 {
            throw DevelopmentPKIError(.io, "cannot chmod 0600 \(path): \(errnoText())")
        }
    }

    private static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DevelopmentPKIError(.io, "cannot open \(path): \(errnoText())") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DevelopmentPKIError(.io, "cannot lock \(path): \(errnoText())") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

/// Why ``DevelopmentPKI`` could not provide its files. Equality compares the code only.
package struct DevelopmentPKIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable reason code.
    package struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        /// A hostname or IP address that a certificate cannot carry.
        package static let invalidName = Code(rawValue: "invalid_name")
        /// The existing CA files cannot be read or do not belong together.
        package static let unusableCA = Code(rawValue: "unusable_ca")
        /// A file system operation failed.
        package static let io = Code(rawValue: "io")
        /// Generating a key or signing a certificate failed.
        package static let cryptoFailure = Code(rawValue: "crypto_failure")
    }

    package let code: Code
    /// A human explanation for logs and the terminal.
    package let reason: String

    package init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    package static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    package func hash(into hasher: inout Hasher) { hasher.combine(code) }
    package var description: String { "\(code): \(reason)" }
}
