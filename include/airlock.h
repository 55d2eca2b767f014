/*
 * airlock.h: constants and error codes shared by every airlock program.
 *
 * The error codes travel on the cable inside ERROR answers and are therefore
 * part of the wire protocol (docs/protocol.md, "Error codes"): never renumber
 * one, only add.
 */
#ifndef AIRLOCK_H
#define AIRLOCK_H

#include <stddef.h>
#include <stdint.h>

#define AIRLOCK_VERSION		"0.1.0"
#define AIRLOCK_REQID_LEN	16	/* 128-bit request id chosen by webdb */
#define AIRLOCK_NAME_MAX	64	/* root and profile names, with NUL */

/* Error codes: 0 success; 1xx message; 2xx signing; 3xx revocation/CRL;
 * 4xx the operator; 5xx signer side */
enum al_err {
	AL_OK			= 0,
	AL_E_MSG		= 100,	/* message does not decode */
	AL_E_MSG_TYPE		= 101,	/* unknown message type */
	AL_E_MSG_FIELD		= 102,	/* required field missing or field not allowed */
	AL_E_MSG_VALUE		= 103,	/* field has a bad value */
	AL_E_ROOT		= 200,	/* unknown root */
	AL_E_PROFILE		= 201,	/* unknown profile, or not allowed for this root */
	AL_E_CSR_PARSE		= 202,	/* CSR does not parse */
	AL_E_CSR_SIG		= 203,	/* CSR self-signature does not verify */
	AL_E_KEY_TYPE		= 204,	/* public key type not allowed */
	AL_E_KEY_SIZE		= 205,	/* public key too small or bad parameters */
	AL_E_DIGEST		= 206,	/* CSR signature digest not allowed */
	AL_E_SUBJECT		= 207,	/* subject DN not acceptable */
	AL_E_SAN		= 208,	/* subjectAltName not acceptable */
	AL_E_VALIDITY		= 209,	/* requested validity not acceptable */
	AL_E_PGP_PARSE		= 210,	/* OpenPGP key does not parse */
	AL_E_PGP_VERSION	= 211,	/* OpenPGP key version not supported */
	AL_E_PGP_SELFSIG	= 212,	/* a user ID has no valid self-signature */
	AL_E_PGP_EXPIRED	= 213,	/* key or user ID expired */
	AL_E_PGP_REVOKED	= 214,	/* key or user ID revoked */
	AL_E_PGP_UID		= 215,	/* no user ID with a listed address */
	AL_E_PGP_SIZE		= 216,	/* key too large or too many packets */
	AL_E_SERIAL		= 300,	/* unknown serial for this root */
	AL_E_REVOKED		= 301,	/* serial already revoked */
	AL_E_REASON		= 302,	/* bad revocation reason */
	AL_E_CRL_NUMBER		= 303,	/* CRL number not known (future) */
	AL_E_INVALIDITY		= 304,	/* bad invalidity date */
	AL_E_KEY_GEN		= 305,	/* no such CA key, or it retired */
	AL_E_OPERATOR		= 400,	/* rejected by the operator (airlockctl reject) */
	AL_E_DENIED		= 401,	/* dual control: an operator denied it */
	AL_E_NOT_APPROVED	= 402,	/* dual control: not approved in time */
	AL_E_INTERNAL		= 500,	/* signer internal error; see its log */
	AL_E_STORAGE		= 501,	/* database error (retryable) */
	AL_E_BUSY		= 502,	/* signer unavailable (retryable) */
	AL_E_HELD		= 503,	/* held for operators' approval (retryable) */
};

/* A webdb clock's NTP status, as TIME messages carry it (msg.h T_SYNC). */
enum msg_sync { MSG_SYNC_UNKNOWN = 0, MSG_SYNC_YES = 1, MSG_SYNC_NO = 2 };

#define FRAME_MAX_PAYLOAD	8192	/* DATA payload bytes at most (frame.h) */

/* The sentence that goes with an error code (never NULL). */
const char *al_strerror(int code);

#endif
