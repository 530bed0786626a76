//! The tenant headers of contract section 2: `X-TB-Tenant-ID`, `X-TB-Timestamp` (Unix ms)
//! and `X-TB-Signature` = hex(HMAC-SHA256(secret, "{tenant}:{timestamp}")).
//!
//! Pure functions, shared by the gateway (which signs) and the emulator (which verifies),
//! so both sides are held to the same golden vectors.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header carrying the tenant id.
pub const TENANT_ID: &str = "x-tb-tenant-id";
/// Header carrying the signing time in Unix milliseconds.
pub const TIMESTAMP: &str = "x-tb-timestamp";
/// Header carrying the lowercase hex HMAC.
pub const SIGNATURE: &str = "x-tb-signature";

type HmacSha256 = Hmac<Sha256>;

/// Signs for one tenant with one secret. HMAC's key schedule (two SHA-256 blocks) and the
/// `"{tenant_id}:"` prefix are absorbed once, so each signature hashes only its timestamp.
/// Holds key material: never printed.
#[derive(Clone)]
pub(crate) struct Signer(HmacSha256);

impl Signer {
    /// A signer for `tenant_id` with `secret`.
    pub(crate) fn new(secret: &[u8], tenant_id: &str) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(tenant_id.as_bytes());
        mac.update(b":");
        Self(mac)
    }

    fn mac(&self, timestamp: &str) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(timestamp.as_bytes());
        mac
    }

    /// The lowercase hex signature for `timestamp` (exactly as sent).
    pub(crate) fn sign(&self, timestamp: &str) -> [u8; 64] {
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.mac(timestamp).finalize().into_bytes(), &mut hex)
            .expect("32 bytes fit 64");
        hex
    }

    /// Checks a hex signature in constant time. A malformed hex string is simply invalid.
    pub(crate) fn verify(&self, timestamp: &str, signature_hex: &str) -> bool {
        match hex::decode(signature_hex) {
            Ok(raw) => self.mac(timestamp).verify_slice(&raw).is_ok(),
            Err(_) => false,
        }
    }
}

/// The signature for `tenant_id` at `timestamp` (both exactly as sent), lowercase hex.
pub fn sign(secret: &[u8], tenant_id: &str, timestamp: &str) -> String {
    let hex = Signer::new(secret, tenant_id).sign(timestamp);
    String::from_utf8(hex.to_vec()).expect("hex is ASCII")
}

/// `Signer::verify` for a one-off check.
pub fn verify(secret: &[u8], tenant_id: &str, timestamp: &str, signature_hex: &str) -> bool {
    Signer::new(secret, tenant_id).verify(timestamp, signature_hex)
}

/// The current Unix time in milliseconds, as the API expects it.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden vectors of contract section 2.
    const VECTORS: &[(&str, &str, &str, &str)] = &[
        (
            "test-secret-key",
            "tenant-123",
            "1700000000000",
            "05b7b0da7a0b4764ddea0bfd3b552343117e1785ba05d89e123df5b5b3f609ae",
        ),
        (
            "dev-tenant-secret",
            "test-tenant-123",
            "1763553600000",
            "52f61dd9d7fe6f975c98ea864aa826a8c15afe45d29aa223aa9e3f951e33a3ee",
        ),
        (
            "s3cr3t",
            "tenant-ü",
            "0",
            "8358b0ed670dffff9a84afdcfbb05052172a4e2b54a8c75f052bc7c55f02fc50",
        ),
    ];

    #[test]
    fn golden_vectors_sign() {
        for (secret, tenant, ts, want) in VECTORS {
            assert_eq!(sign(secret.as_bytes(), tenant, ts), *want, "{tenant}:{ts}");
        }
    }

    #[test]
    fn golden_vectors_signer() {
        for (secret, tenant, ts, want) in VECTORS {
            let hex = Signer::new(secret.as_bytes(), tenant).sign(ts);
            assert_eq!(std::str::from_utf8(&hex).unwrap(), *want, "{tenant}:{ts}");
        }
    }

    #[test]
    fn golden_vectors_verify_and_reject_tampering() {
        for (secret, tenant, ts, want) in VECTORS {
            assert!(verify(secret.as_bytes(), tenant, ts, want));
            assert!(!verify(b"other", tenant, ts, want));
            assert!(!verify(secret.as_bytes(), tenant, "1", want));
            assert!(!verify(secret.as_bytes(), "x", ts, want));
            assert!(!verify(
                secret.as_bytes(),
                tenant,
                ts,
                &want.to_uppercase()[..10]
            ));
            assert!(!verify(secret.as_bytes(), tenant, ts, "not-hex"));
        }
    }
}
