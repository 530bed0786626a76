//! At most `upstream_max_in_flight` API exchanges at once. Past the limit requests queue
//! here (up to the request timeout) instead of each opening a connection and the API seeing
//! a thundering herd. Below the retry layer, so a call waiting out a `429` holds no slot;
//! the permit rides in the response's extensions, so it is held until the body is read.

use std::{sync::Arc, time::Duration};

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use tokio::sync::Semaphore;

use super::UpstreamError;

pub(crate) struct SlotLayer {
    slots: Arc<Semaphore>,
    limit: usize,
    wait: Duration,
}

impl SlotLayer {
    pub(crate) fn new(limit: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            limit,
            wait,
        }
    }
}

#[async_trait::async_trait]
impl Middleware for SlotLayer {
    async fn handle(&self, req: Request, ext: &mut Extensions, next: Next<'_>) -> Result<Response> {
        // The usual case, a free slot, needs no timer.
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    // Never closed; and a timeout means every slot stayed taken.
                    Ok(Err(_)) | Err(_) => {
                        return Err(UpstreamError::Busy {
                            limit: self.limit,
                            waited: self.wait.as_secs_f64(),
                        }
                        .into());
                    }
                }
            }
        };
        let mut resp = next.run(req, ext).await?;
        resp.extensions_mut().insert(Arc::new(permit));
        Ok(resp)
    }
}
