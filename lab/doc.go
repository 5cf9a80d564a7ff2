// Package lab is the Cache Lab: what every instance of the shop measures of its own traffic
// (Recorder), published to Redis each second and read back by every instance, so that /lab
// shows the whole deployment whichever instance serves it (Collector); and the experiments
// that run a caching strategy on the live shop and draw what happens (Runner), one at a time
// per deployment.
//
// The Lab's own requests (/lab, /lab/…) are never counted: handlers mark their context with
// cache.Uncounted and skip the Recorder. The traffic an experiment makes is the shop's, on
// purpose: the dashboard shows it as it happens.
//
// Every Redis key here is built in package keys (lab:{figures}:…, lab:{experiments}:…) and
// goes through the shop's guard; docs/caching.md lists them, docs/lab.md tells the story.
package lab
