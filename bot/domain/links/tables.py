"""Word and suffix tables for the link detector (built once at import, from bundled data)."""

from __future__ import annotations

import contextlib
import sys

import tldextract

# The bundled public-suffix snapshot only: never fetched.
EXTRACT = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False
)


def _punycode(label: str) -> str | None:
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _build_tlds() -> frozenset[str]:
    """The last label of every ICANN rule, in Unicode and in punycode (lower-case)."""
    out: set[str] = set()
    for rule in EXTRACT.tlds:
        last = rule.rsplit(".", 1)[-1].lstrip("*!").lower()
        if not last:
            continue
        out.add(last)
        if last.isascii():
            if last.startswith("xn--"):
                with contextlib.suppress(UnicodeError):
                    out.add(last.encode("ascii").decode("idna"))
        else:
            enc = _punycode(last)
            if enc is not None:
                out.add(enc)
    return frozenset(sys.intern(t) for t in out)


TLDS: frozenset[str] = _build_tlds()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Country codes that are also everyday English words (or common abbreviations here).
WORD_CCTLDS = _words(
    "ad am as at be by do er id im in is it la ma me mm mo ms my no pa pm ps re so st to us ye"
)
LINKY_GTLDS = _words(
    """com net org gov edu mil int info biz io xyz top site online shop store club app dev
    tech pro mobi icu vip buzz cyou sbs cfd asia website"""
)
STRONG_TLDS = frozenset(
    {t for t in TLDS if len(t) == 2 and t.isascii() and t not in WORD_CCTLDS} | LINKY_GTLDS
)
# Top-level domains that are everyday words, likely right after a missing space
# ("home.today", "done.lol"): a bare name on one needs a hyphen or digit to count.
PROSE_TLDS = _words(
    """today now next new one day days live life love help here how you fun win best free
    work run fit family fail lol wtf cool like read rest play show talk open save call bet
    buy eat fly joy hot rip sucks fyi wow zone plus guide tips news date dance party game
    games final fast safe smile wed sex gay men kids mom dad baby boo soy uno care world
    team group social photo photos video movie music book film chat story place space
    green red blue pink black gold star sky sun home house room city town land earth
    how top more moi ok yes"""
)
WEB_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss"})
# Schemes that open an app at a place a spammer chooses (a Telegram channel, a Steam page, a
# Discord server): links whatever follows "scheme://", like the web schemes.
APP_SCHEMES = _words(
    """steam tg discord whatsapp viber skype spotify slack zoommtg zoomus msteams sgnl
    signal line fb-messenger snapchat market itms-apps itms-services intent"""
)
# Schemes where WHATWG URL parsing reads a backslash as a slash.
SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
OPEN_SLDS = _words(
    "co com org net ltd plc me info biz nom or ne name web firm gen ind per blog store shop"
)
CORE_TLDS = frozenset({"com", "org", "net", "gov", "edu"})
FILE_EXTS = _words(
    """pdf png jpg jpeg gif webp heic bmp tif tiff svg doc docx xls xlsx ppt pptx odt ods txt
    rtf csv tsv json xml yaml yml toml ini cfg conf log md rst py js ts rb rs go java kt c h
    cpp cc cs sh bash zsh bat ps ps1 pl php html htm css zip rar tar gz tgz bz2 xz mp3 mp4
    m4a wav flac ogg mov avi mkv webm exe msi dmg apk iso bin dat db sql psd eps epub tf ml
    ipynb r swift lua dart pages numbers key"""
)
KNOWN_SHORT_HOSTS = _words(
    """youtu.be t.me wa.me amzn.to gofund.me about.me bit.do discord.gift
    forms.gle goo.gl paypal.me"""
)
# TLDs a glued "dot" may spell ("isdotgd/x", "shortlinkdotcom/x").
GLUED_TLDS = LINKY_GTLDS | _words("ly gd gg co me to tk ml ga cf gq ws link click")
DOT_STOPWORDS = _words(
    """the a an this that these those my your our their his her its one no any some each
    every whole big small early late old new pre post of in on at by for from during like
    than then after before since until about around a whole red blue black white polka
    connect dot"""
)
PROSE_NOUNS = _words(
    """bubble boom bust crash era days day years age company companies startup startups
    thing things mania millionaire millionaires world business businesses economy
    generation job jobs"""
)
# Words that end a sentence before "x. net/net", "ok. co/pay": not a host name.
SENTENCE_WORDS = _words(
    """it is ok okay so no yes yeah fine done this that and or but all bye sorry well too
    me you he she we they i am was were be been here there now then thanks"""
)
# Words before a dotted quad that make it a version or a section number, not an address.
NUMBERING_WORDS = _words(
    """v ver version versions build firmware fw rev revision release section sec step
    chapter rule ios android app table figure fig page item para paragraph clause appendix
    criteria no number grade stage protocol update patch"""
)
# Words after a dotted quad that make it a list of doses, not an address ("2.2.2.2 mg").
DOSE_UNITS = _words(
    """mg mcg ug µg g kg ml l iu u unit units mmol mm cm tabs tablets pills drops puffs
    times x"""
)
# Degrees and qualifications written with a dot ("MB.BS", "MB.ChB"): not hosts.
DEGREES = _words("mb bm bs ba ma bsc msc md rn bch mbchb phd dphil llb mba mph frcs mrcp")
