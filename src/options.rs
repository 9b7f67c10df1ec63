//! Per-call settings ([`RequestOptions`]) that override the client's for one call, and the
//! setters every request builder shares.

use std::{future::Future, pin::Pin, time::Duration};

use crate::{client::CallOptions, settings::check_setting, Error};

/// Settings for one call that override the client's
/// ([`ClientBuilder::deadline`](crate::ClientBuilder::deadline) and
/// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)). Every request builder takes
/// them, through [`options`](crate::stock::AdjustStock::options) or its `deadline` and `timeout`
/// setters.
///
/// The deadline bounds each request the call sends, from its first attempt to its last
/// answer, limiter waits and retries included; for a call that sends one request (an
/// adjustment, a set, a read), that is the whole call. An
/// [exactly-once](crate::stock::AdjustStock::exactly_once) adjustment counts as one request: its
/// create and status reads share the deadline. The timeout bounds each attempt.
///
/// ```no_run
/// # async fn run(client: ecwid_inventory::Client, item: ecwid_inventory::StockItem)
/// # -> Result<(), ecwid_inventory::Error> {
/// use std::time::Duration;
///
/// let stock = client
///     .stock(item)
///     .deadline(Duration::from_secs(5))
///     .timeout(Duration::from_secs(2))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestOptions {
    // Private, so that every value goes through the setters and `check` sees them all.
    /// The deadline of each request of the call, instead of the client's.
    pub(crate) deadline: Option<Duration>,
    /// The timeout of each attempt, instead of the client's.
    pub(crate) timeout: Option<Duration>,
}

impl RequestOptions {
    /// No override: the client's settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the deadline of each request of the call.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Sets the timeout of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The deadline set with [`deadline`](Self::deadline), if any (`None`: the client's).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ecwid_inventory::RequestOptions;
    ///
    /// let options = RequestOptions::new().deadline(Duration::from_secs(5));
    /// assert_eq!(options.get_deadline(), Some(Duration::from_secs(5)));
    /// assert_eq!(options.get_timeout(), None);
    /// ```
    pub fn get_deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The attempt timeout set with [`timeout`](Self::timeout), if any (`None`: the client's).
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Refuses a zero duration, or one over [`MAX_SETTING`](crate::settings::MAX_SETTING), before
    /// anything is sent.
    pub(crate) fn check(&self) -> Result<(), Error> {
        for (name, value) in [("deadline", self.deadline), ("timeout", self.timeout)] {
            if let Some(value) = value {
                check_setting(&format!("call's {name}"), value, false)
                    .map_err(Error::InvalidInput)?;
            }
        }
        Ok(())
    }

    /// `options` for one request of the call, with these overrides.
    pub(crate) fn apply(&self, options: CallOptions) -> CallOptions {
        options.deadline(self.deadline).timeout(self.timeout)
    }
}

/// The future of a request builder's `.await`: the same as its `send()`, boxed.
pub type SendFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The setters of [`RequestOptions`] on a builder that holds them in `self.options`. One copy
/// for every builder.
macro_rules! request_options {
    ($builder:ident) => {
        impl<'a> $builder<'a> {
            /// Overrides the client's deadline and timeout for this call (see
            /// [`RequestOptions`](crate::RequestOptions)).
            pub fn options(mut self, options: $crate::RequestOptions) -> Self {
                self.options = options;
                self
            }

            /// The deadline of each request of this call, instead of the client's (see
            /// [`RequestOptions`](crate::RequestOptions)). Zero or over
            /// [`MAX_SETTING`](crate::settings::MAX_SETTING) fails with
            /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is sent.
            pub fn deadline(mut self, deadline: std::time::Duration) -> Self {
                self.options.deadline = Some(deadline);
                self
            }

            /// The timeout of each attempt of this call, instead of the client's; checked like
            /// [`deadline`](Self::deadline).
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.options.timeout = Some(timeout);
                self
            }
        }
    };
}

/// [`request_options!`], and the builder's `IntoFuture` (awaiting the builder sends it). One
/// copy for every request builder.
macro_rules! request_builder {
    ($builder:ident, $output:ty) => {
        $crate::options::request_options!($builder);

        impl<'a> std::future::IntoFuture for $builder<'a> {
            type Output = Result<$output, $crate::Error>;
            type IntoFuture = $crate::options::SendFuture<'a, $output>;

            /// Sends the request, as `send()` does.
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

pub(crate) use {request_builder, request_options};
