//! Card production: the data and keys a resident's IC card is personalised with.

use super::*;

impl Issuer {
    /// The data an IC card for `resident` carries, signed by the issuer's Document Signer
    /// (card production; used by the desk's IC card application).
    pub fn personalise_card(
        &self,
        resident: &Resident,
        card_number: &str,
        aa_key_seed: &[u8; 32],
        issued: Date,
    ) -> Result<CardPersonalisation, Error> {
        let aa_key =
            protocol::crypto::generate_signing_key(&mut ChaCha20Rng::from_seed(*aa_key_seed));
        let holder = HolderData {
            name: format!("{}{}", resident.family_name, resident.given_name),
            rrn: resident.rrn.expose().replace('-', ""),
            birth_date: lds_date(resident.rrn.birth_date())
                .ok_or(Error::InvalidRrn("birth date out of range"))?,
            region_code: resident.region().to_owned(),
            issue_date: lds_date(issued).ok_or(Error::InvalidRrn("issue date out of range"))?,
            card_number: card_number.to_owned(),
        };
        let dg1 = holder.encode()?;
        let dg2 = lds::Dg2 {
            portrait: PORTRAIT.to_vec(),
        }
        .encode();
        let dg14 = lds::SecurityInfos::dg14().encode_dg14()?;
        let dg15 = lds::encode_dg15(aa_key.verifying_key())?;
        let sod = sod::create_sod(
            &[(1, &dg1), (2, &dg2), (14, &dg14), (15, &dg15)],
            &self.pki.document_signer,
        )?;
        Ok(CardPersonalisation {
            dg1,
            dg2,
            dg14,
            dg15,
            sod,
            aa_private_key: aa_key.to_bytes().into(),
        })
    }
}
