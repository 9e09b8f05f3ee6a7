//! The SOCKS5 side of a dynamic forward (`ssh -D`): no authentication, `CONNECT` only (RFC 1928);
//! names are resolved by the server, as `curl --socks5-hostname` expects.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reply codes.
pub(crate) const GENERAL_FAILURE: u8 = 1;
pub(crate) const HOST_UNREACHABLE: u8 = 4;
pub(crate) const CONNECTION_REFUSED: u8 = 5;
const COMMAND_NOT_SUPPORTED: u8 = 7;
const ADDRESS_NOT_SUPPORTED: u8 = 8;

/// Reads the greeting and the request. `Ok(None)`: refused (the refusal was sent).
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> std::io::Result<Option<(String, u16)>> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await?;
    if head[0] != 5 {
        return Ok(None); // not SOCKS5 (SOCKS4 is not spoken): close
    }
    let mut methods = vec![0u8; head[1] as usize];
    s.read_exact(&mut methods).await?;
    if !methods.contains(&0) {
        s.write_all(&[5, 0xFF]).await?;
        return Ok(None);
    }
    s.write_all(&[5, 0]).await?;
    let mut req = [0u8; 4];
    s.read_exact(&mut req).await?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await?;
            std::net::Ipv4Addr::from(a).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await?;
            let mut name = vec![0u8; len[0] as usize];
            s.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        4 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await?;
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => {
            reply(s, ADDRESS_NOT_SUPPORTED).await?;
            return Ok(None);
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await?;
    if req[1] != 1 {
        reply(s, COMMAND_NOT_SUPPORTED).await?;
        return Ok(None);
    }
    Ok(Some((host, u16::from_be_bytes(port))))
}

/// Sends a reply (`0`: success) with an unspecified bound address.
pub(crate) async fn reply<S: AsyncWrite + Unpin>(s: &mut S, code: u8) -> std::io::Result<()> {
    s.write_all(&[5, code, 0, 1, 0, 0, 0, 0, 0, 0]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connect_by_name_is_read_and_other_commands_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let client = tokio::spawn(async move {
            a.write_all(&[5, 1, 0]).await.unwrap();
            let mut r = [0u8; 2];
            a.read_exact(&mut r).await.unwrap();
            assert_eq!(r, [5, 0]);
            let mut req = vec![5, 1, 0, 3, 9];
            req.extend(b"localhost");
            req.extend(8080u16.to_be_bytes());
            a.write_all(&req).await.unwrap();
            a
        });
        assert_eq!(handshake(&mut b).await.unwrap(), Some(("localhost".to_string(), 8080)));
        drop(client.await.unwrap());

        let (mut a, mut b) = tokio::io::duplex(1024);
        let client = tokio::spawn(async move {
            a.write_all(&[5, 1, 0]).await.unwrap();
            let mut r = [0u8; 2];
            a.read_exact(&mut r).await.unwrap();
            // BIND to 10.0.0.1:21
            a.write_all(&[5, 2, 0, 1, 10, 0, 0, 1, 0, 21]).await.unwrap();
            let mut r = [0u8; 10];
            a.read_exact(&mut r).await.unwrap();
            r[1]
        });
        assert_eq!(handshake(&mut b).await.unwrap(), None);
        assert_eq!(client.await.unwrap(), COMMAND_NOT_SUPPORTED);
    }

    #[tokio::test]
    async fn a_client_without_the_no_auth_method_is_refused() {
        let (mut a, mut b) = tokio::io::duplex(1024);
        let client = tokio::spawn(async move {
            a.write_all(&[5, 1, 2]).await.unwrap();
            let mut r = [0u8; 2];
            a.read_exact(&mut r).await.unwrap();
            r
        });
        assert_eq!(handshake(&mut b).await.unwrap(), None);
        assert_eq!(client.await.unwrap(), [5, 0xFF]);
    }
}
