//! Reading several streams as of one point of the global feed:
//! [`StreamVersions`] (the point and each stream's version there) and
//! [`StreamsView`] (those streams' events up to that point, read lazily).
//!
//! The point is the feed's head when the read starts. The feed is final
//! (a later event is never ordered before one a reader has seen) and within
//! a stream positions grow with versions, so "the events at or before the
//! point" is a prefix of every stream, fixed once the point is known: each
//! stream's version there. The events are then read by version, page by
//! page, with no transaction or snapshot held between pages; whatever is
//! appended meanwhile lies after the point and is left out. An atomic
//! append to several streams is wholly before the point or wholly after it.

use std::fmt;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::{
    Direction, Error, EventReader, GlobalPosition, ReadOptions, RecordedEvent, Result, StreamId,
};

/// A point of the global feed and the version each of a list of streams had
/// there: what [`EventReader::stream_versions`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamVersions {
    /// The feed's head when read (the newest event a feed reader could
    /// see); `None` when the store held no event a reader could see.
    pub position: Option<GlobalPosition>,
    /// Each stream's version as of `position`, in the order the streams
    /// were given: `None` for a stream with no event at or before it.
    pub versions: Vec<Option<u64>>,
}

/// Several streams read as of one point of the global feed: what
/// [`EventReader::read_streams`] returns. Each stream's events run from
/// version 1 to its version at the point, read lazily when its events are
/// polled, so no event of one stream is newer than the view of another,
/// however long the reader takes.
///
/// Iterate it for each stream's [`StreamView`], in the order the streams
/// were given, or take [`into_events`](Self::into_events) for all events,
/// stream after stream.
pub struct StreamsView<'a> {
    position: Option<GlobalPosition>,
    streams: Vec<StreamView<'a>>,
}

impl<'a> StreamsView<'a> {
    /// The point the streams are read as of: the feed's head when the read
    /// started; `None` when the store held no event then.
    pub fn position(&self) -> Option<GlobalPosition> {
        self.position
    }

    /// Each stream's view, in the order given.
    pub fn streams(&self) -> &[StreamView<'a>] {
        &self.streams
    }

    /// Every stream's events, stream after stream in the order given, each
    /// by version, read lazily.
    pub fn into_events(self) -> BoxStream<'a, Result<RecordedEvent>> {
        stream::iter(self.streams)
            .flat_map(StreamView::into_events)
            .boxed()
    }

    /// Changes every stream's lazy read with `wrap` (a tracing span, say).
    pub(crate) fn map_reads(
        mut self,
        mut wrap: impl FnMut(
            &'a StreamId,
            BoxStream<'a, Result<RecordedEvent>>,
        ) -> BoxStream<'a, Result<RecordedEvent>>,
    ) -> Self {
        for view in &mut self.streams {
            let events = std::mem::replace(&mut view.events, stream::empty().boxed());
            view.events = wrap(view.stream, events);
        }
        self
    }
}

impl<'a> IntoIterator for StreamsView<'a> {
    type Item = StreamView<'a>;
    type IntoIter = std::vec::IntoIter<StreamView<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.streams.into_iter()
    }
}

impl fmt::Debug for StreamsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamsView")
            .field("position", &self.position)
            .field("streams", &self.streams)
            .finish()
    }
}

/// One stream of a [`StreamsView`]: its id, its version as of the view's
/// point and its events up to that version, read lazily.
pub struct StreamView<'a> {
    stream: &'a StreamId,
    version: Option<u64>,
    events: BoxStream<'a, Result<RecordedEvent>>,
}

impl<'a> StreamView<'a> {
    /// The stream.
    pub fn stream(&self) -> &'a StreamId {
        self.stream
    }

    /// The stream's version as of the view's point: `None` when it had no
    /// event then (it did not exist, or was created after).
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The stream's events, versions 1 to [`version`](Self::version), page
    /// by page as they are polled.
    pub fn into_events(self) -> BoxStream<'a, Result<RecordedEvent>> {
        self.events
    }
}

impl fmt::Debug for StreamView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamView")
            .field("stream", &self.stream)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// The view of `streams` as of `at`, each stream's events read lazily by
/// `reader` up to its version there.
pub(crate) fn assemble<'a, R: EventReader + ?Sized>(
    reader: &'a R,
    streams: &'a [StreamId],
    at: StreamVersions,
) -> Result<StreamsView<'a>> {
    if at.versions.len() != streams.len() {
        return Err(Error::backend(
            "core",
            "reading several streams",
            format!(
                "the backend gave {} versions for {} streams",
                at.versions.len(),
                streams.len()
            ),
        ));
    }
    let streams = streams
        .iter()
        .zip(at.versions)
        .map(|(stream, version)| StreamView {
            stream,
            version,
            events: match version {
                Some(version) => {
                    reader.read_stream_events(stream, ReadOptions::all().with_to_version(version))
                }
                None => stream::empty().boxed(),
            },
        })
        .collect();
    Ok(StreamsView {
        position: at.position,
        streams,
    })
}

/// The feed's head and each stream's version there, for a backend with no
/// query of its own: each stream is read newest first down to its first
/// event at or before the head (usually the first event read).
pub(crate) async fn versions_at_head<R: EventReader + ?Sized>(
    reader: &R,
    streams: &[StreamId],
) -> Result<StreamVersions> {
    let position = reader.head_position().await?;
    let mut versions = Vec::with_capacity(streams.len());
    for stream in streams {
        let version = match position {
            Some(head) => {
                let newest_first = ReadOptions::all().with_direction(Direction::Backward);
                reader
                    .read_stream_events(stream, newest_first)
                    .try_filter(|event| futures::future::ready(event.position <= head))
                    .boxed()
                    .try_next()
                    .await?
                    .map(|event| event.stream_version)
            }
            None => None,
        };
        versions.push(version);
    }
    Ok(StreamVersions { position, versions })
}

#[cfg(test)]
#[path = "streams_view_tests.rs"]
mod tests;
