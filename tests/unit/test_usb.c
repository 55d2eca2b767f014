/*
 * test_usb.c: the parts of the usb-pl2501 transport (src/link/usb.c) and of the
 * transport plumbing (src/link/transport.c) that need no device: the usb_id
 * parser, the mapping of libusb codes to outcomes, the USB settings of the
 * configuration, an open that finds nothing (a clear sentence, said once,
 * no fd), the status file the "usb" commands read, and the serial
 * transport's pace = 0 (a pty only). The transfers
 * themselves are tested against the emulated cable in
 * tests/integration/t_usb.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "usb.c"	/* the statics */

#include "config.h"
#include "link.h"

static char tmpdir[64];
static struct cfg C;

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_usb.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes text as the configuration and loads it; the error in why. */
static int
load(const char *text, char *why, size_t whysz)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/airlock.conf", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "state_dir = \"%s\";\n%s", tmpdir, text);
	fclose(f);
	return config_load(path, &C, why, whysz);
}

static void
test_parse_id(void **state)
{
	uint16_t v = 0, p = 0;

	(void)state;
	assert_int_equal(usb_parse_id("067b:2501", &v, &p), 0);
	assert_int_equal(v, 0x067b);
	assert_int_equal(p, 0x2501);
	assert_int_equal(usb_parse_id("067B:25A1", &v, &p), 0);
	assert_int_equal(p, 0x25a1);
	assert_int_equal(usb_parse_id("67b:2501", &v, &p), -1);
	assert_int_equal(usb_parse_id("067b2501", &v, &p), -1);
	assert_int_equal(usb_parse_id("067b:25011", &v, &p), -1);
	assert_int_equal(usb_parse_id("067b:2501 ", &v, &p), -1);
	assert_int_equal(usb_parse_id("zzzz:2501", &v, &p), -1);
	assert_int_equal(usb_parse_id("", &v, &p), -1);
}

static void
test_map(void **state)
{
	(void)state;
	assert_int_equal(usb_map(LIBUSB_TRANSFER_COMPLETED, 1), USB_OK);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_TIMED_OUT, 1), USB_TIMEOUT);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_STALL, 1), USB_STALL);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_NO_DEVICE, 1), USB_GONE);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_CANCELLED, 1), USB_CANCEL);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_OVERFLOW, 1), USB_FAIL);
	assert_int_equal(usb_map(LIBUSB_TRANSFER_ERROR, 1), USB_FAIL);
	assert_int_equal(usb_map(LIBUSB_SUCCESS, 0), USB_OK);
	assert_int_equal(usb_map(5, 0), USB_OK);	/* a byte count */
	assert_int_equal(usb_map(LIBUSB_ERROR_PIPE, 0), USB_STALL);
	assert_int_equal(usb_map(LIBUSB_ERROR_NO_DEVICE, 0), USB_GONE);
	assert_int_equal(usb_map(LIBUSB_ERROR_BUSY, 0), USB_BUSY);
	assert_int_equal(usb_map(LIBUSB_ERROR_ACCESS, 0), USB_DENIED);
	assert_int_equal(usb_map(LIBUSB_ERROR_TIMEOUT, 0), USB_TIMEOUT);
	assert_int_equal(usb_map(LIBUSB_ERROR_IO, 0), USB_FAIL);
}

static void
test_config(void **state)
{
	char why[512];

	(void)state;
	if (load("link = { transport = \"usb-pl2501\"; usb_path = \"2-1.4.3\"; };\n", why,
	    sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.link.baud, 0);	/* unpaced */
	assert_string_equal(C.link.usb_id, "067b:2501");
	assert_non_null(strstr(C.link.status_file, "/link.status"));
	if (load("link = { transport = \"serial\"; };\n", why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.link.baud, 115200);
	assert_int_equal(load("link = { usb_id = \"67b:2501\"; };\n", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "usb_id must be vendor:product"));
	assert_int_equal(load("link = { usb_path = \"1-\"; };\n", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "usb_path must be"));
	assert_int_equal(load("link = { usb_path = \"1\"; };\n", why, sizeof(why)), -1);
	assert_int_equal(load("link = { usb_path = \"1-2..3\"; };\n", why, sizeof(why)), -1);
	assert_int_equal(load("link = { usb_path = \"/dev/bus/usb/001/002\"; };\n", why,
	    sizeof(why)), -1);
	if (load("link = { usb_path = \"3-10.2\"; };\n", why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/* No such device here: -1, a sentence, no fd, "closed" in the status. */
static void
test_open_nothing(void **state)
{
	struct transport t;
	char why[512], st[1024];

	(void)state;
	if (load("link = { transport = \"usb-pl2501\"; usb_path = \"9-9.9.9\"; };\n", why,
	    sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(transport_init(&t, &C.link, why, sizeof(why)), 0);
	assert_ptr_equal(t.ops, &usb_pl2501_ops);
	assert_int_equal(t.ops->open(&t, why, sizeof(why)), -1);
	assert_int_equal(t.fd, -1);
	assert_true(strstr(why, "no 067b:2501 device at 9-9.9.9") != NULL ||
	    strstr(why, "libusb cannot start") != NULL);
	assert_int_equal(t.ops->open(&t, why, sizeof(why)), -1);	/* logged once */
	assert_int_equal(t.ops->link_status(&t), -1);
	t.ops->status(&t, st, sizeof(st));
	assert_non_null(strstr(st, "usb-pl2501 067b:2501 closed"));
	assert_non_null(strstr(st, "opens=0"));
	t.ops->close(&t);	/* closing what is not open does nothing */
	assert_non_null(t.priv);	/* the counters outlive a failed open */
	transport_free(&t);	/* and are freed here (LeakSanitizer checks) */
	assert_null(t.priv);
	assert_int_equal(t.fd, -1);
	transport_free(&t);	/* twice is harmless */
}

/* pace = 0: off by default; a pty opens unpaced, any other device is refused. */
static void
test_pace(void **state)
{
	struct transport t;
	char why[512], conf[600];
	int m;

	(void)state;
	if (load("link = { transport = \"serial\"; };\n", why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.link.pace, 1);
	assert_int_equal(load("link = { pace = 2; };\n", why, sizeof(why)), -1);
	/* a pty's slave end */
	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) == -1 || grantpt(m) == -1 || unlockpt(m) == -1)
		fail_msg("no pty here");
	snprintf(conf, sizeof(conf), "link = { device = \"%s\"; baud = 4000000; pace = 0; };\n",
	    ptsname(m));
	if (load(conf, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.link.pace, 0);
	assert_int_equal(transport_init(&t, &C.link, why, sizeof(why)), 0);
	assert_ptr_equal(t.ops, &serial_ops);
	if (t.ops->open(&t, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_true(t.fd >= 0);
	transport_free(&t);
	close(m);
	/* a character device that is no pty: refused with a sentence */
	if (load("link = { device = \"/dev/null\"; baud = 4000000; pace = 0; };\n", why,
	    sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(transport_init(&t, &C.link, why, sizeof(why)), 0);
	assert_int_equal(t.ops->open(&t, why, sizeof(why)), -1);
	assert_int_equal(t.fd, -1);
	assert_non_null(strstr(why, "pace = 0 is for a pty"));
	transport_free(&t);
}

static void
test_publish(void **state)
{
	static const struct link_cb cb;
	uint8_t key[LINK_KEY_LEN];
	struct link_params lp;
	struct transport t;
	struct link *l;
	char why[512], buf[4096], victim[128], tmp[CFG_PATH + 8];
	struct stat st;
	FILE *f;
	size_t n;

	(void)state;
	if (load("link = { transport = \"usb-pl2501\"; };\n", why, sizeof(why)) != 0)
		fail_msg("%s", why);
	memset(key, 7, sizeof(key));
	link_params_default(&lp, C.link.baud);
	assert_non_null(l = link_new(LINK_INITIATOR, key, &lp, &cb, NULL));
	assert_int_equal(transport_init(&t, &C.link, why, sizeof(why)), 0);
	/* a link where the old code put its temporary file is not written through */
	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", C.link.status_file);
	assert_int_equal(symlink(victim, tmp), 0);
	transport_publish(&t, l, 1000);
	assert_int_equal(access(victim, F_OK), -1);
	assert_int_equal(lstat(C.link.status_file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(tmp);
	assert_non_null(f = fopen(C.link.status_file, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "transport usb-pl2501\n"));
	assert_non_null(strstr(buf, "cable closed\n"));
	assert_non_null(strstr(buf, "peer unknown\n"));
	assert_non_null(strstr(buf, "\nlink state="));
	assert_non_null(strstr(buf, " retransmits="));
	unlink(C.link.status_file);
	transport_publish(&t, l, 1500);		/* not yet: once a second */
	assert_int_equal(access(C.link.status_file, F_OK), -1);
	transport_publish(&t, l, 2000);
	assert_int_equal(access(C.link.status_file, F_OK), 0);
	transport_free(&t);
	link_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_open_nothing),
		cmocka_unit_test(test_pace),
		cmocka_unit_test(test_publish),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
