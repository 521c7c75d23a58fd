"""Every sentence the bot shows to people, in one place.

Keeping the wording here (and nowhere else) makes the bot's voice consistent,
lets a team adjust it in one file, and lets tests refer to the same constants
the code uses. Templates use ``str.format`` fields named for what they hold.
"""

from __future__ import annotations

# --- answers ----------------------------------------------------------------------
ANSWER_HEADER = "*{question}*"
ANSWER_SOURCE = "<{url}|Source>"
# (a match's score, "73% confidence", is worded by faq_core.answer.SCORE_LABEL: the CLI shows it too)
ANSWER_DETAILS = "Details: confidence {confidence} (I answer from {threshold}{source}); cosine {cosine}"
ANSWER_ASKED = "You asked: _{query}_"
ANSWER_TRUNCATED = "I only read the first {limit:,} characters of your question."
ANSWER_NO_TEXT = "(This FAQ has no written answer yet.)"
OTHER_MATCHES = "Other close FAQs:"
OTHER_MATCH_LINE = "• {question} — {score}"
PICKED_HEADER = "You picked this FAQ:"
ANSWER_FALLBACK = "{question}\n{answer}\n{score}"

NO_MATCH = (
    "I don't have a good answer to that. No FAQ is close enough to your question "
    "(my confidence is {confidence}; I answer from {threshold} up)."
)
DID_YOU_MEAN = "Did you mean…?"
NO_MATCH_SUGGEST = f"*{DID_YOU_MEAN}*"
AMBIGUOUS = "I'm not sure which of these two FAQs you mean; one of them should answer your question:"
AMBIGUOUS_FALLBACK = "One of these? {first} / {second}"
BUTTON_THIS_ONE = "This one: {question}"
NO_MATCH_NONE = "Try asking in other words, or ask a colleague."
NO_MATCH_FALLBACK = "I don't have a good answer to that: no FAQ is close enough to your question."

# --- buttons ------------------------------------------------------------------------
BUTTON_HELPFUL = "Helpful"
BUTTON_NOT_HELPFUL = "Not helpful"
BUTTON_SHARE = "Share in channel"

# --- feedback -------------------------------------------------------------------------
VOTE_RECORDED = {
    "helpful": "Thanks <@{user}>, your vote was recorded: helpful.",
    "not_helpful": "Thanks <@{user}>, your vote was recorded: not helpful. I'll pass that on.",
}
VOTE_CHANGED = "<@{user}> changed their vote to {vote_label}."
VOTE_TALLY = "Feedback so far: {helpful} helpful · {not_helpful} not helpful."
VOTE_LABELS = {"helpful": "helpful", "not_helpful": "not helpful"}
VOTE_FAILED = "Sorry, I couldn't record your vote just now. Please try again in a minute."

# --- usage and errors ---------------------------------------------------------------
# {example} is a question of the served index (its first FAQ), so the help
# speaks of the team's own subject; EXAMPLE_NEUTRAL stands in when there is none.
USAGE = (
    "Ask me a question and I'll find the FAQ that answers it.\n"
    "• Mention me in a channel: {bot} {example}\n"
    "• Use the command: `/faq {example}` (only you see the answer)\n"
    "• Or write to me directly in a message."
)
USAGE_FALLBACK = "Ask me a question, for example: /faq {example}"
EXAMPLE_NEUTRAL = "your question"
SERVICE_UNAVAILABLE = (
    "The FAQ service is unavailable right now, so I can't look that up. "
    "Please try again in a few minutes."
)
STORE_UNAVAILABLE = (
    "I can't take questions right now because my database is unavailable. "
    "Please ask again in a few minutes."
)
INTERNAL_ERROR = "Sorry, something went wrong while I was looking that up. Please try again."
NO_FAQ_HERE = "No FAQ is set up here yet; an admin can choose one."
FAQ_CANNOT_LOAD = "Sorry, the FAQ for this place cannot be loaded right now; an admin can check which one is set."
FAQ_GONE = "Sorry, that FAQ is no longer in the index. Please ask your question again."
SHARED_BY = "Shared by <@{user}>"

# --- App Home ---------------------------------------------------------------------------
HOME_TITLE = "FAQ bot"
HOME_ABOUT = (
    "I answer questions from your team's FAQ. I compare your question with every FAQ "
    "by meaning (not just keywords), reply with the closest one, its source link and "
    "how similar it is, and I say plainly when no FAQ is close enough."
)
HOME_HOW_TITLE = "How to ask"
HOME_HOW = (
    "• *Mention me* in a channel: {bot} {example} I reply in a thread.\n"
    "• *Slash command*: `/faq your question`. Only you see the answer; you can share it.\n"
    "• *Direct message*: write to me in the Messages tab, no mention needed.\n"
    "Tell me whether an answer helped with the *Helpful* / *Not helpful* buttons."
)
HOME_INDEX_TITLE = "What I know"
HOME_INDEX = (
    "• FAQ index: `{name}`\n"
    "• FAQs: {faq_count} ({phrasing_count} phrasings)\n"
    "• Model: `{model}` via {backend}\n"
    "• I answer when my confidence reaches {threshold} ({threshold_source} threshold{method})"
)
HOME_REVISION = "• Serving revision `{revision}` since {changed} (shown to admins)"
HOME_SAMPLE = (
    ":warning: No FAQ index is configured, so I'm answering from a built-in sample "
    "({faq_count} FAQs about Medicare), not from your team's FAQs. Whoever runs me can set "
    "`FAQ_INDEX` to your own index."
)

# --- hand-off: "Ask a person" ------------------------------------------------------------
BUTTON_HANDOFF = "Ask a person"
HANDOFF_OFFER = "Or ask a person: *{button}* passes your question to {where}."
HANDOFF_POST = "{mention}A question I couldn't answer, from <@{user}>:\n>{question}"
HANDOFF_POST_LINK = "<{permalink}|Original message>"
HANDOFF_POST_NO_LINK = "(asked with /faq, so there is no message to link to)"
HANDOFF_SENT = "I've passed your question to {where}; someone will reply there."
HANDOFF_ALREADY = "This question was already passed to {where}; someone will reply there."
HANDOFF_FAILED = "Sorry, I couldn't pass your question on just now. Please try the button again in a minute."
HANDOFF_GROUP_NEEDS_CHANNEL = (
    "I can only bring in {where} where they can see it: please mention me with your question in a channel."
)
HANDOFF_GROUP_WHERE = "{group} (in this thread)"

# --- App Home: FAQ review (admins only) ----------------------------------------------------
REVIEW_TITLE = "FAQ review"
REVIEW_ABOUT = (
    "Questions I couldn't answer well, grouped by meaning, most people first "
    "(last {days} days). Only FAQ admins see this section."
)
REVIEW_DUPLICATES_TITLE = "*Near-duplicate FAQs*"
REVIEW_DUPLICATES_GROUP = "• These {count} FAQs answer almost the same question: merge them or add phrasings. {faqs}"
REVIEW_DUPLICATES_MORE = "…and {more} more groups (`faq-bot index info` lists them all)."
REVIEW_EMPTY = "Nothing to review: no missed questions in the last {days} days that nobody decided on yet."
REVIEW_CLUSTER = "*{rank}. {people} asked {asked}x* · last {last} · {reasons}"
REVIEW_EXAMPLE = "• {text} ({asked}x)"
REVIEW_MORE = "…and {more} more"
REVIEW_SUGGEST_PHRASING = "Suggestion: add as phrasing of *{question}* ({why})"
REVIEW_SUGGEST_NEW = "Suggestion: a new FAQ ({why})"
REVIEW_PICK_FAQ = "Add as phrasing of…"
BUTTON_REVIEW_ACCEPT = "Add as phrasing"
BUTTON_REVIEW_NEW = "New FAQ…"
BUTTON_REVIEW_DISMISS = "Dismiss"
REVIEW_SHOWN = "Showing the top {shown} of {total} clusters; `faq-bot review` lists them all."
REVIEW_UNAVAILABLE = "The review could not be loaded just now: {reason}"
REVIEW_DONE = {
    "accept": ":white_check_mark: {questions} added as phrasings of *{faq}*.",
    "new": ":white_check_mark: New FAQ drafted: *{faq}* with {phrasings}.",
    "dismiss": ":wastebasket: {questions} dismissed; they won't come back.",
}
REVIEW_APPLY_HINT = "Decisions reach the FAQ source with `faq-bot review apply --source FILE --out NEW`."
REVIEW_REFUSED = ":warning: Not done: {reason}"
REVIEW_CHOOSE_FAQ = "choose the FAQ they are phrasings of first"
REVIEW_GONE = "that cluster is no longer in the review (decided already, or its questions changed)"
REVIEW_MODAL_TITLE = "New FAQ"
REVIEW_MODAL_SUBMIT = "Save draft"
REVIEW_MODAL_CLOSE = "Cancel"
REVIEW_MODAL_INTRO = "A new FAQ whose phrasings are this cluster's questions, such as: _{example}_"
REVIEW_MODAL_QUESTION = "Question"
REVIEW_MODAL_ANSWER = "Answer"
REVIEW_MODAL_URL = "Link (optional)"
REVIEW_MODAL_NEED_TEXT = "Please write the {what}."
REVIEW_MODAL_BAD_URL = "The link must be a web address: http:// or https:// and a host name."

# --- digest ----------------------------------------------------------------------------
# (no markup: bot.features.digest marks what is emphasised, and each platform draws it)
DIGEST_TITLE = "FAQ bot digest: {start} to {end}"
DIGEST_SEEN = "{seen} seen{change}"
DIGEST_RATES = (
    "Answered {answered}{answered_change} · abstained {abstained}{abstained_change} · "
    "helpful {helpful} of {votes}{helpful_change}"
)
DIGEST_NO_PREVIOUS = "no earlier period to compare"
DIGEST_CHANGE = "{sign}{value} vs the {length} before"
DIGEST_CLUSTERS_TITLE = "Top unanswered clusters"
DIGEST_CLUSTER = "{rank}. {text} — {asked}x by {people}"
DIGEST_CLUSTERS_NONE = "No missed questions to review."
DIGEST_CLUSTERS_SKIPPED = "Not looked for (no FAQ index to cluster with)."
DIGEST_UNHELPFUL_TITLE = "FAQs most often voted not helpful"
DIGEST_UNHELPFUL = "• {question} — {count} not helpful"
DIGEST_UNHELPFUL_NONE = "No FAQ was voted not helpful."
DIGEST_FOOTER = "Review them in my App Home (FAQ admins) or with {command}."

# --- start-up (shown on the console, not in Slack) ----------------------------------------
STARTUP_MISSING = "{name} is not set. {hint}"
STARTUP_MALFORMED = "{name} does not look right: {reason}. {hint}"
STARTUP_REJECTED = "Slack rejected {name} ({error}). {hint}"
STARTUP_UNREACHABLE = "Could not reach the Slack Web API at SLACK_API_URL={url}: {reason}"
STARTUP_DATABASE = "DATABASE_URL could not be used: {reason}"
STARTUP_CONFLICT = "{one} and {other} are both set: {hint}"
CANNOT_LISTEN = "cannot listen on {where}: {reason}"
HINT_BOT_TOKEN = (
    "Copy the Bot User OAuth Token (xoxb-...) from your app's OAuth & Permissions page into .env."
)
HINT_APP_TOKEN = (
    "Create an app-level token with the connections:write scope under Basic Information > "
    "App-Level Tokens and copy it (xapp-...) into .env, or run with --http instead."
)
HINT_SIGNING_SECRET = (
    "HTTP mode needs the Signing Secret from your app's Basic Information page in .env, "
    "or set SLACK_APP_TOKEN to use Socket Mode."
)
HINT_ONE_MODE = (
    "token mode serves one workspace with SLACK_BOT_TOKEN, distribution mode installs into many with "
    "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; unset the settings of the mode you do not use (docs/slack.md)."
)
HINT_SOCKET_TOKEN_MODE = (
    "Socket Mode serves one workspace (token mode); distribution mode is served over HTTP, "
    "so unset SLACK_APP_TOKEN or run with --http (docs/slack.md)."
)
HINT_CLIENT = "Copy the Client ID and Client Secret from your app's Basic Information page (App Credentials) into .env."
TOKEN_KEYS_WRONG = (
    "FAQ_TOKEN_KEYS cannot open the stored Slack tokens: they were sealed with a key it no longer holds. "
    "Put that key back after the new one (FAQ_TOKEN_KEYS=new,old) and restart (docs/slack.md, rotating the key)."
)
HINT_TOKEN_KEYS = (
    "Distribution mode seals the stored bot tokens with it: one or more comma-separated Fernet keys, the first "
    "seals, all open; make one with: "
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

# --- Discord (markup differs from Slack's mrkdwn; the sentences above are shared) ---------
DISCORD_SOURCE = "[Source]({url})"
DISCORD_ASKED = "You asked: {query}"
DISCORD_COMMAND_DESCRIPTION = "Ask the FAQ a question"
DISCORD_OPTION_DESCRIPTION = "Your question (suggestions appear as you type)"
DISCORD_STARTUP_REJECTED = "Discord rejected DISCORD_BOT_TOKEN (401 Unauthorized). {hint}"
DISCORD_STARTUP_UNREACHABLE = "Could not reach the Discord API at DISCORD_API_URL={url}: {reason}"
DISCORD_INTENT_DISALLOWED = (
    "Discord refused the Message Content intent that DISCORD_FORUM_CHANNEL_IDS needs: switch on "
    "Message Content Intent on your application's Bot page in the Developer Portal (past 10,000 users "
    "it must be approved in Discord's review), or leave DISCORD_FORUM_CHANNEL_IDS empty."
)
HINT_DISCORD_TOKEN = (
    "Copy the token from your application's Bot page in the Discord Developer Portal "
    "(Reset Token) into .env as DISCORD_BOT_TOKEN."
)

# --- Discord: "Ask a person" (DISCORD_HANDOFF_CHANNEL) -------------------------------
DISCORD_HANDOFF_OFFER = "Or ask a person: **{button}** passes your question to {where}."
DISCORD_HANDOFF_POST = "A question I couldn't answer, from <@{user}>:\n> {question}"
DISCORD_HANDOFF_POST_LINK = "Original message: {link}"
DISCORD_HANDOFF_POST_DM = "(asked in a direct message to the bot, so only the asker can open it)"


# --- Several FAQs: routes (App Home for Slack admins, /faq-route on Discord) ------------------
ROUTES_TITLE = "FAQ routes"
ROUTES_ABOUT = ("Which FAQ answers where in this workspace: a channel's own FAQ, else the workspace default{fallback}. "
                "Changes count from the next question. Only FAQ admins see this section.")
ROUTES_FALLBACK = ", else the deployment's FAQ (`{index}`)"
ROUTES_NO_FALLBACK = ", else none (the bot says no FAQ is set up there)"
ROUTES_DEFAULT = "• Workspace default: `{index}`"
ROUTES_NO_DEFAULT = "• Workspace default: none set"
ROUTES_CHANNEL = "• <#{channel}>: `{index}`"
BUTTON_ROUTE_SET = "Set a route…"
BUTTON_ROUTE_UNSET = "Remove"
ROUTE_MODAL_TITLE = "Set an FAQ route"
ROUTE_MODAL_SUBMIT = "Save"
ROUTE_MODAL_CLOSE = "Cancel"
ROUTE_MODAL_CHANNEL = "Channel (leave empty for the workspace default)"
ROUTE_MODAL_INDEX = "FAQ index: a Hub dataset user/name[@branch-or-commit], or a local index folder"
ROUTE_SET = "Done: {where} is now answered from `{index}`."
ROUTE_UNSET = "Done: {where} has no route of its own any more."
ROUTE_NONE = "{where} had no route."
ROUTE_WHERE_DEFAULT = "the workspace default"
ROUTE_WHERE_CHANNEL = "<#{channel}>"
ROUTE_REFUSED = "Not changed: {reason}"
DISCORD_ROUTE_DESCRIPTION = "Choose which FAQ answers in this server or one channel (server managers only)"
DISCORD_ROUTE_INDEX = "Hub dataset user/name[@branch-or-commit] or index folder; empty with remove:True"
DISCORD_ROUTE_CHANNEL = "The channel (default: the whole server)"
DISCORD_ROUTE_REMOVE = "Remove the route instead of setting one"
DISCORD_ROUTE_ADMINS_ONLY = "Only members who can manage this server can choose its FAQ."
DISCORD_ROUTE_NOT_IN_SERVER = "FAQ routes are chosen in a server, not in a direct message."
DISCORD_ROUTE_WHERE_DEFAULT = "this server's default"
DISCORD_ROUTE_WHERE_CHANNEL = "<#{channel}>"
DISCORD_ROUTES_OFF = "FAQ routes are not available in this deployment."
