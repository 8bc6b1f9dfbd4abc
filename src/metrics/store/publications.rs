//! The publication ledger: each `wxpub publish` run and each article it published, as the
//! yearly report and the network report count them.
use super::{Store, StoreError, args};

/// A finished `wxpub publish` run for one account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PublishRun {
    pub run: String,
    pub account: String,
    pub started_at: String,
    pub ended_at: String,
    pub items: usize,
    pub ok: bool,
    pub error: Option<String>,
}

/// One published (or mass-sent) article, with the facts the yearly report counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Publication {
    pub account: String,
    pub item: String,
    pub slot: String,
    pub title: String,
    pub kind: String,
    pub mode: String,
    pub pushed_at: String,
    pub url: Option<String>,
    pub illustrations: u32,
    pub video_seconds: u32,
    pub animation_seconds: u32,
    pub live: bool,
    /// The article's key in WeChat's 2026 statistics, `<msg_data_id>_<position>`, when known.
    pub msgid: Option<String>,
    /// 1-based position in its push.
    pub position: u32,
    pub tags: Vec<String>,
}

impl Store {
    pub fn record_run(&self, run: &PublishRun) -> Result<(), StoreError> {
        let outcome = if run.ok { "ok" } else { "failed" };
        self.write(|engine| {
            engine.execute(
                "INSERT INTO publish_runs (run, account, started_at, ended_at, items, outcome, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (run, account) DO NOTHING",
                args![run.run, run.account, run.started_at, run.ended_at, run.items as i64, outcome, run.error],
            )
        })
        .map(drop)
    }

    /// Records publications; an article already recorded is updated (its URL may have arrived).
    pub fn record_publications(&mut self, publications: &[Publication]) -> Result<usize, StoreError> {
        let mut tags = Vec::with_capacity(publications.len());
        for p in publications {
            tags.push(serde_json::to_string(&p.tags).map_err(|e| StoreError::Value {
                target: self.origin.to_string(),
                detail: format!("tags of {}: {e}", p.item),
            })?);
        }
        self.write(|engine| {
            let mut changed = 0;
            for (p, tags) in publications.iter().zip(&tags) {
                changed += engine.execute(
                    "INSERT INTO publications (account, item, slot, title, kind, mode, pushed_at, url, illustrations, \
                     video_seconds, animation_seconds, live, msgid, position, tags) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
                     ON CONFLICT (account, item, slot) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
                     mode = excluded.mode, pushed_at = excluded.pushed_at, \
                     url = COALESCE(excluded.url, publications.url), \
                     illustrations = excluded.illustrations, video_seconds = excluded.video_seconds, \
                     animation_seconds = excluded.animation_seconds, live = excluded.live, \
                     msgid = COALESCE(excluded.msgid, publications.msgid), position = excluded.position, \
                     tags = excluded.tags \
                     WHERE (publications.title, publications.kind, publications.mode, publications.pushed_at, \
                     publications.url, publications.illustrations, publications.video_seconds, \
                     publications.animation_seconds, publications.live, publications.msgid, publications.position, \
                     publications.tags) \
                     IS DISTINCT FROM (excluded.title, excluded.kind, excluded.mode, excluded.pushed_at, \
                     COALESCE(excluded.url, publications.url), excluded.illustrations, excluded.video_seconds, \
                     excluded.animation_seconds, excluded.live, COALESCE(excluded.msgid, publications.msgid), \
                     excluded.position, excluded.tags)",
                    args![
                        p.account,
                        p.item,
                        p.slot,
                        p.title,
                        p.kind,
                        p.mode,
                        p.pushed_at,
                        p.url,
                        p.illustrations,
                        p.video_seconds,
                        p.animation_seconds,
                        p.live,
                        p.msgid,
                        p.position,
                        tags
                    ],
                )?;
            }
            Ok(changed as usize)
        })
    }

    /// Publications whose slot falls in `[since, until]` (dates, inclusive), oldest first.
    pub fn publications(
        &self,
        since: &str,
        until: &str,
        account: Option<&str>,
    ) -> Result<Vec<Publication>, StoreError> {
        let rows = self.rows(
            "SELECT account, item, slot, title, kind, mode, pushed_at, url, illustrations, video_seconds, \
             animation_seconds, live, msgid, position, tags FROM publications \
             WHERE substr(slot, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3) \
             ORDER BY slot, account, item",
            args![since, until, account],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Publication {
                    account: r.text(0)?,
                    item: r.text(1)?,
                    slot: r.text(2)?,
                    title: r.text(3)?,
                    kind: r.text(4)?,
                    mode: r.text(5)?,
                    pushed_at: r.text(6)?,
                    url: r.opt_text(7)?,
                    illustrations: r.u32(8)?,
                    video_seconds: r.u32(9)?,
                    animation_seconds: r.u32(10)?,
                    live: r.int(11)? != 0,
                    msgid: r.opt_text(12)?,
                    position: r.u32(13)?,
                    tags: r.tags(14)?,
                })
            })
            .collect()
    }

    /// (successful runs, all runs) whose start falls in `[since, until]`.
    pub fn run_counts(&self, since: &str, until: &str, account: Option<&str>) -> Result<(u64, u64), StoreError> {
        let row = self.one(
            "SELECT COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END), 0), COUNT(*) FROM publish_runs \
             WHERE substr(started_at, 1, 10) BETWEEN ?1 AND ?2 AND (?3 IS NULL OR account = ?3)",
            args![since, until, account],
        )?;
        Ok((row.int(0)? as u64, row.int(1)? as u64))
    }

    /// The last recorded run, for `status`-like summaries and tests.
    pub fn last_run(&self) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        self.row("SELECT account, outcome, error FROM publish_runs ORDER BY id DESC LIMIT 1", &[])?
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.opt_text(2)?)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::tests::fresh_stores;

    #[test]
    fn publications_are_upserted_and_counted_as_changed_only_when_they_change() {
        for fresh in fresh_stores("publications") {
            let mut store = Store::open(&fresh.target).unwrap();
            let mut p = Publication {
                account: "service".into(),
                item: "articles/a".into(),
                slot: "2026-12-01T20:00".into(),
                title: "钟".into(),
                kind: "article".into(),
                mode: "publish".into(),
                pushed_at: "2026-12-01T20:00:03+08:00".into(),
                url: None,
                illustrations: 2,
                video_seconds: 0,
                animation_seconds: 0,
                live: false,
                msgid: None,
                position: 1,
                tags: vec!["青铜".into()],
            };
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 1);
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 0, "unchanged");
            p.url = Some("https://mp.weixin.qq.com/s/x".into());
            p.msgid = Some("9_1".into());
            assert_eq!(store.record_publications(std::slice::from_ref(&p)).unwrap(), 1);
            // A later record without the URL keeps the one known.
            let mut without = p.clone();
            (without.url, without.msgid) = (None, None);
            assert_eq!(store.record_publications(&[without]).unwrap(), 0);
            assert_eq!(store.publications("2026-12-01", "2026-12-01", None).unwrap(), [p]);
            store
                .record_run(&PublishRun {
                    run: "r1".into(),
                    account: "service".into(),
                    started_at: "2026-12-01T20:00:00+08:00".into(),
                    ended_at: "2026-12-01T20:00:09+08:00".into(),
                    items: 1,
                    ok: true,
                    error: None,
                })
                .unwrap();
            assert_eq!(store.run_counts("2026-12-01", "2026-12-01", None).unwrap(), (1, 1));
            assert_eq!(store.last_run().unwrap(), Some(("service".into(), "ok".into(), None)));
        }
    }
}
